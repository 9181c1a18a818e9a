import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { launchChromium, screenshot, watchPage } from '../helpers/browser.js';
import { copyExample, DevProcess, stopDevProcesses } from '../helpers/cli.js';

// One `compozy dev weather` (replay model, offline) and one browser for the whole file.
const started: DevProcess[] = [];
let browser: Browser;
let page: Page;
let apiUrl: string;
let seen: { errors: string[]; foreign: string[] };

beforeAll(async () => {
  const dev = new DevProcess([copyExample('weather'), '--port', '0'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' });
  started.push(dev);
  const [ready, launched] = await Promise.all([dev.waitFor('ready'), launchChromium()]);
  browser = launched;
  apiUrl = ready.apiUrl as string;
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  seen = watchPage(page, apiUrl);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopDevProcesses(started);
});

describe('the dashboard of compozy dev', () => {
  it('opens at / on the health page, with a row per component of the health report', async () => {
    const report = ((await (await fetch(`${apiUrl}/api/v0/health`)).json()) as { data: HealthReport }).data;
    await page.goto(`${apiUrl}/`);
    const table = page.getByTestId('health-table');
    await table.waitFor();
    const rows = table.locator('tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)))).toEqual(
      report.components.map((c) => [c.name, c.backend, c.state]),
    );
    await screenshot(page, 'dashboard-health');
  });

  it('lists the workflows and shows one as a graph and a list of tasks and transitions', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByTestId('workflow-list').getByRole('link', { name: 'weather' }).click();
    const tasks = page.getByTestId('task-list');
    await tasks.waitFor();
    expect(await tasks.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task')))).toEqual([
      'weather',
      'activities',
      'activity_analysis',
      'clothing',
      'clothing_validation',
      'aggr',
      'clothing_check',
      'save_results',
      'no_results',
    ]);
    await expect.poll(() => tasks.locator('tr[data-task="clothing_check"] td').nth(4).textContent()).toBe('has_clothes → save_results, no_clothes → no_results');
    expect(await page.locator('svg.graph g.node').count()).toBe(9);
    expect(await page.locator('svg.graph g.edge').count()).toBe(8);
    // The run form is generated from the input schema: city is a required text field.
    expect(await page.locator('form.schema-form input[name="city"]').getAttribute('required')).not.toBeNull();
    await screenshot(page, 'dashboard-workflow');
  });

  it('runs the weather example from its form and shows the execution as a task tree with each task\'s output', async () => {
    await page.locator('form.schema-form input[name="city"]').fill('Lisbon');
    await page.getByRole('button', { name: 'Run workflow' }).click();
    await page.waitForURL(/#\/executions\/[0-9A-Za-z]{27}$/);
    const execId = page.url().split('/').at(-1) as string;
    const tree = page.getByTestId('task-tree');
    await tree.waitFor();
    // Refresh is the button a person presses: the page reads the execution when asked.
    await expect
      .poll(
        async () => {
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.locator('h1 [data-status]').getAttribute('data-status');
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe('SUCCESS');
    const state = ((await (await fetch(`${apiUrl}/api/v0/executions/workflows/${execId}`)).json()) as { data: { tasks: Record<string, { status: string; output: unknown }> } }).data;
    await expect.poll(() => tree.locator('tbody tr').count()).toBe(Object.keys(state.tasks).length);
    expect(await tree.locator('tr[data-task="weather"]').getAttribute('data-status')).toBe('SUCCESS');
    await tree.locator('tr[data-task="weather"]').click();
    const output = page.getByTestId('task-detail').getByLabel('task output');
    expect(JSON.parse((await output.textContent()) as string)).toEqual(state.tasks.weather?.output);
    await screenshot(page, 'dashboard-execution');
    await page.getByRole('link', { name: 'Executions', exact: true }).first().click();
    await page.getByTestId('execution-list').locator(`tr[data-exec="${execId}"]`).waitFor();
    await screenshot(page, 'dashboard-executions');
  });

  it('loaded nothing from outside the server and logged no error', () => {
    expect(seen.foreign).toEqual([]);
    expect(seen.errors).toEqual([]);
  });
});
