import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { countRequests, launchChromium, screenshot, watchPage } from '../helpers/browser.js';
import { copyExample, DevProcess, REPO, stopDevProcesses } from '../helpers/cli.js';

// One `compozy dev` and one browser for the whole file: the weather example (replay model, offline)
// with two additions, a workflow that waits for a signal and the memory example's user memory.
const APPROVAL = `id: approval
description: Waits for an approve signal whose payload says ok, then reports who approved
config:
  input:
    type: object
    properties:
      request:
        type: string
    required: [request]
schedule:
  cron: "0 0 1 1 *"
  input: { request: scheduled }
tasks:
  - id: wait_approval
    type: wait
    wait_for: approve
    condition: 'signal.payload.ok == true'
    timeout: 5m
    on_success:
      next: report
  - id: report
    type: aggregate
    outputs:
      request: "{{ .workflow.input.request }}"
      approved_by: "{{ .tasks.wait_approval.output.signal.payload.by }}"
`;

// A tool that fails its first `failures` attempts (counted in a file, since a retry may run in another
// process of the pool), and a workflow whose first task fails once and is retried.
const FLAKY = `id: flaky
description: A task that fails once and succeeds on its retry, then one that succeeds at once
config:
  input:
    type: object
    properties:
      dir:
        type: string
    required: [dir]
tools:
  - id: flaky
tasks:
  - id: try_twice
    type: basic
    tool: flaky
    retries: 2
    with:
      file: "{{ .workflow.input.dir }}/try_twice-{{ .workflow.exec_id }}"
      failures: 1
    on_success:
      next: once
  - id: once
    type: basic
    tool: flaky
    retries: 2
    with:
      file: "{{ .workflow.input.dir }}/once-{{ .workflow.exec_id }}"
      failures: 0
`;
const FLAKY_TOOL = `import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export async function flaky(input: { file: string; failures: number }) {
  const attempt = (existsSync(input.file) ? Number(readFileSync(input.file, 'utf8')) : 0) + 1;
  writeFileSync(input.file, String(attempt));
  if (attempt <= input.failures) throw new Error(\`flaky failure \${attempt}\`);
  return { attempt };
}
`;

function weatherProject(): string {
  const dir = copyExample('weather');
  writeFileSync(join(dir, 'approval.yaml'), APPROVAL);
  writeFileSync(join(dir, 'flaky.yaml'), FLAKY);
  writeFileSync(join(dir, 'flaky_tool.ts'), FLAKY_TOOL);
  const entrypoint = readFileSync(join(dir, 'entrypoint.ts'), 'utf8');
  writeFileSync(join(dir, 'entrypoint.ts'), `import { flaky } from './flaky_tool.ts';\n${entrypoint.replace('export default {\n', 'export default {\n  flaky,\n')}`);
  mkdirSync(join(dir, 'memory'));
  copyFileSync(join(REPO, 'examples', 'memory', 'memory', 'user_memory.yaml'), join(dir, 'memory', 'user_memory.yaml'));
  const config = readFileSync(join(dir, 'compozy.yaml'), 'utf8');
  writeFileSync(join(dir, 'compozy.yaml'), config.replace('  - source: ./workflow.yaml\n', '  - source: ./workflow.yaml\n  - source: ./approval.yaml\n  - source: ./flaky.yaml\n').replace('    - tools/*.yaml\n', '    - tools/*.yaml\n    - memory/*.yaml\n'));
  return dir;
}

const started: DevProcess[] = [];
let browser: Browser;
let page: Page;
let apiUrl: string;
let project: string;
let servePid: number;
let seen: { errors: string[]; foreign: string[] };

beforeAll(async () => {
  project = weatherProject();
  const dev = new DevProcess([project, '--port', '0'], { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' });
  started.push(dev);
  const [ready, launched] = await Promise.all([dev.waitFor('ready'), launchChromium()]);
  browser = launched;
  apiUrl = ready.apiUrl as string;
  servePid = (ready.health as HealthReport).components.find((c) => c.name === 'api')?.pid as number;
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  seen = watchPage(page, apiUrl);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopDevProcesses(started);
});

// Each test drives real processes and a browser on a shared 2-core machine (one restarts serve).
describe('the dashboard of compozy dev', { timeout: 120_000 }, () => {
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
    // Parent tasks draw their children inside their box: the composite's two tasks, the collection's one per item.
    const children = (id: string) => page.locator(`svg.graph g.node[data-task="${id}"] g.child`).evaluateAll((gs) => gs.map((g) => g.getAttribute('data-child')));
    expect(await children('save_results')).toEqual(['save_json', 'save_txt']);
    expect(await children('activity_analysis')).toEqual(['analyze-activity-{{ .index }}']);
    expect(await children('weather')).toEqual([]);
    const parent = (await page.locator('svg.graph g.node[data-task="save_results"] > rect').boundingBox()) as { x: number; y: number; width: number; height: number };
    for (const child of await page.locator('svg.graph g.node[data-task="save_results"] g.child rect').all()) {
      const box = (await child.boundingBox()) as typeof parent;
      expect(box.x).toBeGreaterThan(parent.x);
      expect(box.y).toBeGreaterThan(parent.y);
      expect(box.x + box.width).toBeLessThan(parent.x + parent.width);
      expect(box.y + box.height).toBeLessThan(parent.y + parent.height);
    }
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
    await expect.poll(() => page.locator('h1 [data-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(() => page.locator('[data-stream]').getAttribute('data-stream')).toBe('ended');
    const state = ((await (await fetch(`${apiUrl}/api/v0/executions/workflows/${execId}`)).json()) as { data: { tasks: Record<string, { status: string; output: unknown }> } }).data;
    await expect.poll(() => tree.locator('tbody tr').count()).toBe(Object.keys(state.tasks).length);
    expect(await tree.locator('tr[data-task="weather"]').getAttribute('data-status')).toBe('SUCCESS');
    await tree.locator('tr[data-task="weather"]').click();
    const output = page.getByTestId('task-detail').getByLabel('task output');
    expect(JSON.parse((await output.textContent()) as string)).toEqual(state.tasks.weather?.output);
    // An agent task shows its conversation, from the stream's agent steps.
    expect(await page.getByTestId('task-detail').getByTestId('agent-steps').locator('li').evaluateAll((items) => items.map((li) => li.getAttribute('data-event')))).toEqual(['agent.model_call']);
    await screenshot(page, 'dashboard-execution');
  });

  it('shows a task\'s retries, counted from the execution stream\'s task.started events', async () => {
    const started = await fetch(`${apiUrl}/api/v0/workflows/flaky/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { dir: project } }) });
    const execId = ((await started.json()) as { data: { exec_id: string } }).data.exec_id;
    await page.goto(`${apiUrl}/#/executions/${execId}`);
    await expect.poll(() => page.locator('h1 [data-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(() => page.locator('[data-stream]').getAttribute('data-stream'), { timeout: 15_000 }).toBe('ended');
    const tree = page.getByTestId('task-tree');
    expect(await tree.locator('tr[data-task="try_twice"] .retries').textContent()).toBe('1 retry');
    expect(await tree.locator('tr[data-task="try_twice"] [data-retries]').getAttribute('data-retries')).toBe('1');
    expect(await tree.locator('tr[data-task="once"] .retries').count()).toBe(0);
    await tree.locator('tr[data-task="try_twice"]').click();
    expect(await page.getByTestId('task-attempts').textContent()).toBe('2 (1 retry)');
    await tree.locator('tr[data-task="once"]').click();
    expect(await page.getByTestId('task-attempts').textContent()).toBe('1');
    await screenshot(page, 'dashboard-retries');
  });

  it('lists executions live: one started elsewhere appears and reaches SUCCESS without a reload', async () => {
    await page.goto(`${apiUrl}/#/executions?workflow=weather`);
    await expect.poll(() => page.locator('[data-stream]').getAttribute('data-stream')).toBe('live');
    const reads = countRequests(page, /\/api\/v0\/executions\/workflows\?/);
    const started = await fetch(`${apiUrl}/api/v0/workflows/weather/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { city: 'Porto' } }) });
    const execId = ((await started.json()) as { data: { exec_id: string } }).data.exec_id;
    const row = page.getByTestId('execution-list').locator(`tr[data-exec="${execId}"]`);
    await row.waitFor();
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('SUCCESS');
    expect(reads()).toBe(0);
    await screenshot(page, 'dashboard-executions');
  });

  it('follows a waiting execution live, through a restart of serve, and sends it the signal that lets it finish', async () => {
    await page.goto(`${apiUrl}/#/workflows/approval`);
    await page.locator('form.schema-form input[name="request"]').fill('deploy');
    const snapshots = countRequests(page, /\/api\/v0\/executions\/workflows\/[0-9A-Za-z]{27}$/);
    const streams: Array<Record<string, string>> = [];
    page.on('request', (request) => {
      if (/\/api\/v0\/executions\/workflows\/[0-9A-Za-z]{27}\/stream$/.test(request.url())) streams.push(request.headers());
    });
    await page.getByRole('button', { name: 'Run workflow' }).click();
    await page.waitForURL(/#\/executions\/[0-9A-Za-z]{27}$/);
    const status = () => page.locator('h1 [data-status]').getAttribute('data-status');
    const stream = () => page.locator('[data-stream]').getAttribute('data-stream');
    await expect.poll(status, { timeout: 30_000 }).toBe('PAUSED');
    await page.getByTestId('task-tree').locator('tr[data-task="wait_approval"]').waitFor();
    expect(await stream()).toBe('live');

    // serve dies: the stream drops, and resumes from its Last-Event-ID once compozy dev has restarted it.
    const errorsBefore = seen.errors.length;
    process.kill(servePid, 'SIGKILL');
    await expect.poll(stream, { timeout: 10_000, interval: 50 }).toBe('reconnecting');
    await expect.poll(stream, { timeout: 60_000 }).toBe('live');
    const dropped = seen.errors.splice(errorsBefore);
    expect(dropped.filter((line) => !/net::ERR_|\/stream -> 50[23]$/.test(line))).toEqual([]);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams[0]?.['last-event-id']).toBeUndefined();
    expect(Number(streams.at(-1)?.['last-event-id'])).toBeGreaterThan(0);

    // The signal name is offered from the workflow's wait task.
    expect(await page.locator('input[name="signal_name"]').inputValue()).toBe('approve');
    await page.locator('textarea[name="payload"]').fill('{"ok": true, "by": "ana"}');
    await screenshot(page, 'dashboard-signal');
    await page.getByRole('button', { name: 'Send signal' }).click();
    await page.getByRole('status').filter({ hasText: 'signal approve sent' }).waitFor();
    await expect.poll(status, { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(stream).toBe('ended');
    await page.getByTestId('task-tree').locator('tr[data-task="report"]').click();
    expect(JSON.parse((await page.getByTestId('task-detail').getByLabel('task output').textContent()) as string)).toEqual({ request: 'deploy', approved_by: 'ana' });
    // The page read the execution once; everything after came from its stream.
    expect(snapshots()).toBe(1);
    await screenshot(page, 'dashboard-execution-live');
  });

  it('pauses, resumes and cancels a running execution from its page', async () => {
    await page.goto(`${apiUrl}/#/workflows/approval`);
    await page.locator('form.schema-form input[name="request"]').fill('rollback');
    await page.getByRole('button', { name: 'Run workflow' }).click();
    await page.waitForURL(/#\/executions\/[0-9A-Za-z]{27}$/);
    const status = () => page.locator('h1 [data-status]').getAttribute('data-status');
    await expect.poll(status, { timeout: 30_000 }).toBe('PAUSED');
    for (const action of ['Pause', 'Resume'] as const) {
      await page.getByRole('button', { name: action, exact: true }).click();
      await page.getByRole('status').filter({ hasText: `${action.toLowerCase()} requested` }).waitFor();
    }
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'cancel requested' }).waitFor();
    await expect.poll(status, { timeout: 30_000 }).toBe('CANCELED');
    await expect.poll(() => page.getByTestId('task-tree').locator('tr[data-task="wait_approval"]').getAttribute('data-status')).toBe('CANCELED');
    // Once it ended, the page offers nothing to steer.
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(true);
  });

  it('runs an agent action and a tool from their pages', async () => {
    await page.goto(`${apiUrl}/#/agents`);
    await page.getByTestId('agent-list').getByRole('link', { name: 'tourist_guide' }).click();
    await page.locator('select[name="action"]').selectOption('get_weather');
    await page.locator('textarea[name="input"]').fill('{"city": "Lisbon"}');
    await page.getByRole('button', { name: 'Run action' }).click();
    const run = page.getByTestId('agent-run');
    await run.waitFor();
    await expect.poll(() => run.locator('[data-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('SUCCESS');
    await expect.poll(() => run.locator('[data-stream]').getAttribute('data-stream')).toBe('ended');
    // The conversation comes from the stream's agent steps: the replay model answers in one call.
    const steps = run.getByTestId('agent-steps').locator('li');
    expect(await steps.evaluateAll((items) => items.map((li) => li.getAttribute('data-event')))).toEqual(['agent.model_call']);
    expect(JSON.parse((await steps.first().locator('div').textContent()) as string)).toEqual({ weather: 'Clear sky', temperature: 21, humidity: 55 });
    expect(JSON.parse((await run.getByLabel('agent output').textContent()) as string)).toEqual({ weather: 'Clear sky', temperature: 21, humidity: 55 });
    await screenshot(page, 'dashboard-agent');

    await page.getByRole('link', { name: 'Tools', exact: true }).click();
    await page.getByTestId('tool-list').getByRole('link', { name: 'save_data' }).click();
    await page.locator('textarea[name="payload"]').fill('{"note": "from the dashboard"}');
    await page.locator('select[name="format"]').selectOption('json');
    await page.getByRole('button', { name: 'Run tool' }).click();
    const result = page.getByTestId('direct-result');
    await result.waitFor();
    expect(JSON.parse((await result.getByLabel('direct output').textContent()) as string)).toEqual({ success: true, format: 'json', filename: 'results.json' });
    expect(JSON.parse(readFileSync(join(project, 'results.json'), 'utf8'))).toEqual({ note: 'from the dashboard' });
    await screenshot(page, 'dashboard-tool');
  });

  it('browses a memory\'s conversations and reads one', async () => {
    const append = await fetch(`${apiUrl}/api/v0/memory/user_memory/append`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'user:ana', messages: [{ role: 'user', content: 'Hi, I am Ana' }, { role: 'assistant', content: 'Hello Ana' }] }),
    });
    expect(append.status).toBe(200);
    await page.getByRole('link', { name: 'Memory', exact: true }).click();
    await page.getByTestId('memory-list').getByRole('link', { name: 'user_memory' }).click();
    await page.getByTestId('memory-keys').locator('tr[data-key="user:ana"] a').click();
    const messages = page.getByTestId('conversation').locator('li.message');
    await expect.poll(() => messages.count()).toBe(2);
    expect(await messages.evaluateAll((items) => items.map((li) => [li.getAttribute('data-role'), li.querySelector('div')?.textContent]))).toEqual([
      ['user', 'Hi, I am Ana'],
      ['assistant', 'Hello Ana'],
    ]);
    await screenshot(page, 'dashboard-memory');
  });

  it('lists the schedules, pauses one and fires it now', async () => {
    await page.goto(`${apiUrl}/#/schedules`);
    const row = page.getByTestId('schedule-list').locator('tr[data-schedule="approval"]');
    // The server reconciles the schedules into Temporal as it starts: ask again until it has.
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return row.count();
    }, { timeout: 30_000 }).toBe(1);
    expect(await row.getAttribute('data-enabled')).toBe('true');
    await row.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'approval paused' }).waitFor();
    await expect.poll(() => row.getAttribute('data-enabled')).toBe('false');
    await row.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('status').filter({ hasText: 'approval triggered' }).waitFor();
    await expect
      .poll(async () => ((await (await fetch(`${apiUrl}/api/v0/executions/workflows?workflow_id=approval`)).json()) as { data: { executions: Array<{ input: unknown }> } }).data.executions.filter((e) => JSON.stringify(e.input) === '{"request":"scheduled"}').length, { timeout: 30_000 })
      .toBe(1);
    await screenshot(page, 'dashboard-schedules');
  });

  it('links to the OpenAPI explorer, served offline at /docs', async () => {
    expect(await page.getByRole('link', { name: 'OpenAPI explorer' }).getAttribute('href')).toBe('/docs');
    await page.goto(`${apiUrl}/docs`);
    await page.locator('.swagger-ui .info').waitFor();
    await screenshot(page, 'dashboard-openapi');
  });

  it('loaded nothing from outside the server and logged no error', () => {
    expect(seen.foreign).toEqual([]);
    expect(seen.errors).toEqual([]);
  });
});
