import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters as stripAnsi } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { BIN, copyExample, copyFixture, DevProcess, REPO, runCli, stopDevProcesses, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';
import { runCliAtTerminal } from '../helpers/pty.js';

/** The CLI client (workflow, executions, agent, tool) against a running `compozy dev`, found through .compozy/run.json. */

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' };
const started: DevProcess[] = [];
const cli = (...args: string[]) => runCli(args, env);
const json = <T = Record<string, unknown>>(result: CliResult) => JSON.parse(result.stdout) as T;

const EXECUTION_KEYS = ['created_at', 'error', 'input', 'output', 'status', 'updated_at', 'usage', 'workflow_exec_id', 'workflow_id'];

async function startDev(project: string): Promise<string> {
  const dev = new DevProcess([project, '--port', '0'], env);
  started.push(dev);
  const ready = await dev.waitFor('ready', 1, 120_000);
  return String((ready.health as HealthReport).components.find((c) => c.name === 'api')?.address);
}

/** Polls the API (not the CLI) until the execution has the status. */
async function statusIs(api: string, execId: string, status: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 300 && last !== status; i++) {
    last = String(((await (await fetch(`${api}/api/v0/executions/workflows/${execId}`)).json()) as { data: { status: string } }).data.status);
    if (last !== status) await sleep(50);
  }
  expect(last).toBe(status);
}

afterAll(() => stopDevProcesses(started));

interface Event {
  id: number;
  event: string;
  data: { exec_id: string; workflow_id: string; at: string; task?: { task_id: string; status: string }; execution?: { status: string } };
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as Event);

/** A `compozy executions follow` running in the background, its output collected. */
function follower(args: string[]): { done: Promise<CliResult>; stdout: () => string } {
  const child = spawn(process.execPath, [BIN, 'executions', 'follow', ...args], { cwd: REPO, env: { ...process.env, ...env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))), stdout: () => stdout };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('the CLI client with nothing running', () => {
  it('says to start compozy dev or pass --api-url (exit 1), in text and JSON; refuses bad flags first (exit 2)', async () => {
    const project = copyFixture('engine-api');
    const text = await cli('workflow', 'list', project);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain('compozy dev is not running for engine-api');
    expect(text.stderr).toContain('Start it with `compozy dev');
    expect(text.stderr).toContain('or give --api-url');
    const asJson = await cli('executions', 'list', project, '--json');
    expect(asJson.code).toBe(1);
    expect(json(asJson)).toMatchObject({ error: { code: 'NOT_RUNNING' } });
    const nobody = await cli('executions', 'get', '3N1LLpHZJp5uPAtD2fRXOxreM80', '--api-url', 'http://127.0.0.1:9');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('The compozy API at http://127.0.0.1:9 does not answer');

    expect((await cli('workflow', 'run', 'nap', project, '--input', '{n:')).stderr).toContain('--input is not JSON');
    const neither = await cli('agent', 'run', 'a', project);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('agent run needs --action or --prompt.');
    expect((await cli('agent', 'run', 'a', project, '--action', 'x', '--prompt', 'y')).code).toBe(2);
    expect((await cli('executions', 'list', project, '--status', 'DONE')).code).toBe(2);
    expect((await cli('executions', 'list', project, '--limit', '0')).stderr).toContain('--limit must be a whole number from 1 to 500');
    expect((await cli('tool', 'run', 't', project, '--timeout', '10m')).stderr).toContain('--timeout 10m is outside 1s to 300s');
  });
});

describe('the CLI client on the weather example', () => {
  let project: string;
  let api: string;
  beforeAll(async () => {
    project = copyExample('weather');
    api = await startDev(project);
  }, 150_000);

  it('lists and shows workflows', async () => {
    const list = await cli('workflow', 'list', project);
    expect(list.stdout).toMatch(/^ID {7}VERSION {2}TASKS {2}DESCRIPTION\nweather {2}0\.1\.0 {4}9 {6}Looks up the weather/);
    const listed = json<{ workflows: { id: string; tasks: unknown[] }[] }>(await cli('workflow', 'list', project, '--json'));
    expect(listed.workflows.map((w) => w.id)).toEqual(['weather']);
    const show = await cli('workflow', 'show', 'weather', project);
    expect(show.stdout).toContain('Input:\n  city  string  required  City to plan for');
    expect(show.stdout).toContain('  3.  activity_analysis    collection');
    // --api-url needs no project: run from a folder that is none.
    const byUrl = await runCli(['workflow', 'list', '--api-url', `${api}/`, '--json'], env, tempDir('elsewhere'));
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(json<{ workflows: { id: string }[] }>(byUrl).workflows.map((w) => w.id)).toEqual(['weather']);
    expect((await cli('workflow', 'list', '--api-url', 'not a url')).stderr).toContain('--api-url "not a url" is not a URL.');
    const unknown = await cli('workflow', 'show', 'wether', project);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Workflow "wether" does not exist in project weather.');
  });

  it('workflow run --wait exits 0 and prints the output; without --wait it prints the execution id; executions list --json has a stable shape', async () => {
    const run = await cli('workflow', 'run', 'weather', project, '--input', '{"city":"Lisbon"}', '--wait');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^✔ weather SUCCESS \(execution \w{27}, [\d.]+m?s\)\n\{\n {2}"city": "Lisbon",/);
    expect(run.stderr).toContain('• weather: SUCCESS');
    const waited = json<{ status: string; output: { city: string }; tasks: Record<string, unknown> }>(await cli('workflow', 'run', 'weather', project, '--input', '{"city":"Porto"}', '--wait', '--json'));
    expect(waited.status).toBe('SUCCESS');
    expect(waited.output.city).toBe('Porto');
    expect(Object.keys(waited.tasks)).toContain('save_json');

    const started = await cli('workflow', 'run', 'weather', project, '--input', '{"city":"Faro"}', '--json');
    expect(started.code).toBe(0);
    const { exec_id: execId, ...rest } = json<{ exec_id: string; exec_url: string; workflow_id: string }>(started);
    expect(rest).toEqual({ exec_url: `/api/v0/executions/workflows/${execId}`, workflow_id: 'weather' });
    const refused = await cli('workflow', 'run', 'weather', project, '--input', '{"city":7}');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('/city must be string');

    const page = json<{ executions: Record<string, unknown>[]; page: { limit: number; next_cursor: string | null } }>(await cli('executions', 'list', project, '--json', '--limit', '2'));
    expect(Object.keys(page).sort()).toEqual(['executions', 'page']);
    expect(page.executions).toHaveLength(2);
    for (const execution of page.executions) expect(Object.keys(execution).sort()).toEqual(EXECUTION_KEYS);
    expect(page.executions[0]?.workflow_exec_id).toBe(execId);
    expect(page.page.limit).toBe(2);
    expect(page.page.next_cursor).toEqual(expect.any(String));
    const next = json<{ executions: { workflow_exec_id: string }[]; page: { next_cursor: string | null } }>(await cli('executions', 'list', project, '--json', '--limit', '2', '--cursor', String(page.page.next_cursor)));
    expect(next.executions).toHaveLength(1);
    expect(next.page.next_cursor).toBeNull();
    const text = await cli('executions', 'list', project, '--workflow', 'weather', '--limit', '2');
    expect(text.stdout.split('\n')[0]).toBe('EXECUTION                    WORKFLOW  STATUS   STARTED                   DURATION');
    expect(text.stdout).toContain(`… more: --cursor ${page.page.next_cursor}`);
    expect(json<{ executions: unknown[] }>(await cli('executions', 'list', project, '--json', '--workflow', 'nope')).executions).toEqual([]);

    const get = await cli('executions', 'get', execId, project);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(new RegExp(`^weather ${execId} (PENDING|RUNNING|SUCCESS) `));
    expect(json<{ workflow_exec_id: string; tasks: object }>(await cli('executions', 'get', execId, project, '--json')).workflow_exec_id).toBe(execId);
  }, 60_000);

  it('workflow run --follow prints a line per event, every task among them, and exits 0; --json prints the events as JSON Lines', async () => {
    const run = await cli('workflow', 'run', 'weather', project, '--input', '{"city":"Lisbon"}', '--follow');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    const TIME = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    expect(lines[0]).toMatch(new RegExp(`^${TIME}  execution\\.status    weather  PENDING$`));
    for (const path of ['weather', 'activities', 'activity_analysis', 'activity_analysis/analyze-activity-0', 'activity_analysis/analyze-activity-2', 'clothing', 'clothing_validation/validate-clothing-1', 'aggr', 'clothing_check', 'save_results', 'save_results/save_json', 'save_results/save_txt']) {
      expect(lines.some((line) => new RegExp(`^${TIME}  task\\.succeeded      ${path}  \\w+  SUCCESS  [\\d.]+m?s$`).test(line)), path).toBe(true);
    }
    expect(lines.some((line) => new RegExp(`^${TIME}  agent\\.model_call    weather  tourist_guide step 1: stop, 0 in / 0 out tokens$`).test(line))).toBe(true);
    const end = lines.findIndex((line) => line.includes('execution.finished'));
    expect(lines[end]).toMatch(/execution\.finished  weather  SUCCESS  [\d.]+m?s$/);
    expect(lines[end + 1]).toMatch(/^✔ weather SUCCESS \(execution \w{27}, [\d.]+m?s\)$/);
    expect(JSON.parse(lines.slice(end + 2).join('\n'))).toMatchObject({ city: 'Lisbon' });

    const followed = await cli('workflow', 'run', 'weather', project, '--input', '{"city":"Porto"}', '--follow', '--json');
    expect(followed.code).toBe(0);
    const events = jsonLines(followed.stdout);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(['data', 'event', 'id']);
      if (event.event.startsWith('agent.')) expect(event.data).toMatchObject({ task_exec_id: expect.any(String), task_id: expect.any(String), agent_id: 'tourist_guide', step: expect.any(Number) });
      else expect(Object.keys(event.data).sort()).toEqual(['at', 'exec_id', 'workflow_id', event.event.startsWith('task.') ? 'task' : 'execution'].sort());
    }
    expect(events.filter((e) => e.event === 'agent.model_call').length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ event: 'execution.status', data: { execution: { status: 'PENDING' } } });
    expect(events.at(-1)).toMatchObject({ event: 'execution.finished', data: { execution: { status: 'SUCCESS', output: { city: 'Porto' } } } });
    expect(events.filter((e) => e.event === 'task.succeeded').map((e) => e.data.task?.task_id)).toContain('save_txt');

    // An ended execution: the stream replays it and the follow ends with its status.
    const again = await cli('executions', 'follow', String(events[0]?.data.exec_id), project, '--json');
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout)).toEqual(events);
  }, 60_000);

  it('at a terminal, follow redraws the task tree in place and ends with the summary', async () => {
    const result = await runCliAtTerminal(['workflow', 'run', 'weather', project, '--input', '{"city":"Faro"}', '--follow'], []);
    expect(result.code).toBe(0);
    // log-update erases the previous frame (ESC[2K, ESC[1A) before drawing the next one.
    expect(result.output).toContain('\u001b[2K\u001b[1A');
    const plain = stripAnsi(result.output);
    expect(plain).toMatch(/Tasks:\r?\n {2}weather +basic +SUCCESS/);
    expect(plain).toMatch(/ {4}save_txt +basic +SUCCESS +[\d.]+m?s/);
    expect(plain).toMatch(/✔ weather SUCCESS \(execution \w{27}, [\d.]+m?s\)/);
  }, 60_000);

  it('agent run and tool run print the output and exit 0, or exit 1 with the task\'s own error', async () => {
    const agent = await cli('agent', 'run', 'tourist_guide', project, '--action', 'get_weather', '--input', '{"city":"Porto"}');
    expect(agent.code, agent.stderr).toBe(0);
    expect(agent.stdout).toMatch(/^✔ agent tourist_guide SUCCESS \(execution \w{27}, [\d.]+m?s\)\n/);
    expect(JSON.parse(agent.stdout.slice(agent.stdout.indexOf('\n')))).toEqual({ weather: 'Clear sky', temperature: 21, humidity: 55 });

    const failed = await cli('agent', 'run', 'tourist_guide', project, '--action', 'analyze_activity', '--input', '{"activity":"Surfing"}');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^✗ agent tourist_guide FAILED \(execution \w{27}\): TEMPLATE_ERROR: .*"item"/);
    const failedJson = json<{ exec_id: string; output: unknown; state: { status: string; error: { code: string } } }>(await cli('agent', 'run', 'tourist_guide', project, '--action', 'analyze_activity', '--input', '{"activity":"Surfing"}', '--json'));
    expect(failedJson).toMatchObject({ output: null, state: { status: 'FAILED', error: { code: 'TEMPLATE_ERROR' } } });

    const noAction = await cli('agent', 'run', 'tourist_guide', project, '--action', 'fly');
    expect(noAction.code).toBe(2);
    expect(noAction.stderr).toContain('Its actions: get_weather');
    expect((await cli('agent', 'run', 'nobody', project, '--prompt', 'hi')).code).toBe(2);

    const tool = json<{ exec_id: string; output: unknown; state: { status: string; component: string } }>(await cli('tool', 'run', 'weather_tool', project, '--input', '{"city":"Porto"}', '--json'));
    expect(tool).toMatchObject({ output: { weather: 'Clear sky' }, state: { status: 'SUCCESS', component: 'tool' } });
    const unknownTool = await cli('tool', 'run', 'nope', project);
    expect(unknownTool.code).toBe(2);
    expect(unknownTool.stderr).toContain('Known tools:');
  }, 60_000);
});

describe('the CLI client on waiting executions', () => {
  let project: string;
  let api: string;
  beforeAll(async () => {
    project = copyFixture('engine-api');
    api = await startDev(project);
  }, 150_000);

  it('a failing workflow exits 1 with its error', async () => {
    const run = await cli('workflow', 'run', 'approval_quick', project, '--wait');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ approval_quick FAILED \(execution \w{27}, [\d.]+m?s\): task approve failed: wait task timed out after 1s\n/);
  }, 30_000);

  it('follow of a failing workflow exits 1, and a follow ends with 1 when another command cancels the execution', async () => {
    const run = await cli('workflow', 'run', 'approval_quick', project, '--follow');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/task\.failed {9}approve  wait  FAILED  [\d.]+m?s  ✗ wait task timed out after 1s\n/);
    expect(run.stdout).toMatch(/task\.succeeded {6}expired  basic  SUCCESS/);
    expect(run.stdout).toMatch(/\n✗ approval_quick FAILED \(execution \w{27}, [\d.]+m?s\): task approve failed: wait task timed out after 1s\n/);

    const { exec_id: execId } = json<{ exec_id: string }>(await cli('workflow', 'run', 'approval', project, '--json'));
    const follow = follower([execId, project]);
    await until('the follow to see the wait', () => follow.stdout().includes('task.started        approve'));
    expect((await cli('executions', 'cancel', execId, project)).code).toBe(0);
    const ended = await follow.done;
    expect(ended.code).toBe(1);
    expect(ended.stdout).toMatch(/execution\.finished  approval  CANCELED/);
    expect(ended.stdout).toContain(`✗ approval CANCELED (execution ${execId}`);
    const unknown = await cli('executions', 'follow', '3N1LLpHZJp5uPAtD2fRXOxreM80', project);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Workflow execution 3N1LLpHZJp5uPAtD2fRXOxreM80 does not exist.');
  }, 60_000);

  it('a follow survives its server being killed and restarted by compozy dev: it reconnects with Last-Event-ID and misses nothing', async () => {
    const { exec_id: execId } = json<{ exec_id: string }>(await cli('workflow', 'run', 'approval', project, '--json'));
    await statusIs(api, execId, 'PAUSED');
    const follow = follower([execId, project, '--json']);
    await until('the follow to see the pause', () => follow.stdout().includes('"PAUSED"'));
    const servePid = (JSON.parse(readFileSync(join(project, '.compozy', 'run.json'), 'utf8')) as { children: { serve: { pid: number } } }).children.serve.pid;
    process.kill(servePid, 'SIGKILL');
    await until('compozy dev to restart serve', async () => (await fetch(`${api}/readyz`).then((r) => r.ok).catch(() => false)), 60_000);
    expect((await cli('executions', 'signal', execId, 'approved', project, '--payload', '{"ok":true,"by":"ada"}')).code).toBe(0);
    const ended = await follow.done;
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stderr).toContain(`• the event stream of ${execId} dropped`);
    expect(ended.stderr).toContain(`• reconnected to the event stream of ${execId}, resuming after event`);
    const events = jsonLines(ended.stdout);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => `${e.event}:${e.data.task?.task_id ?? e.data.execution?.status}`)).toEqual(
      expect.arrayContaining(['task.succeeded:approve', 'task.succeeded:approved', 'execution.finished:SUCCESS']),
    );
  }, 120_000);

  it('sends a signal to a waiting execution, which then succeeds; a second signal is refused as it has ended', async () => {
    const { exec_id: execId } = json<{ exec_id: string }>(await cli('workflow', 'run', 'approval', project, '--json'));
    await statusIs(api, execId, 'PAUSED');
    const waiting = await cli('executions', 'get', execId, project);
    expect(waiting.stdout).toMatch(/Tasks:\n {2}approve {2}wait {2}RUNNING {2}[\d.]+m?s\n/);
    const sent = await cli('executions', 'signal', execId, 'approved', project, '--payload', '{"ok":true,"by":"ada"}');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toBe(`✔ signal approved sent to execution ${execId}\n`);
    await statusIs(api, execId, 'SUCCESS');
    const done = json<{ tasks: Record<string, { output: unknown }> }>(await cli('executions', 'get', execId, project, '--json'));
    expect(done.tasks.approved?.output).toEqual({ by: 'ada' });
    const late = await cli('executions', 'signal', execId, 'approved', project, '--json');
    expect(late.code).toBe(1);
    expect(json(late)).toMatchObject({ error: { code: 'EXECUTION_NOT_RUNNING' } });
  }, 30_000);

  it('pauses, resumes and cancels an execution; unknown and malformed ids are refused', async () => {
    const { exec_id: execId } = json<{ exec_id: string }>(await cli('workflow', 'run', 'approval', project, '--json'));
    await statusIs(api, execId, 'PAUSED');
    expect((await cli('executions', 'pause', execId, project)).stdout).toBe(`✔ pause requested for execution ${execId}\n`);
    expect(json(await cli('executions', 'resume', execId, project, '--json'))).toEqual({ exec_id: execId });
    const cancel = await cli('executions', 'cancel', execId, project);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toBe(`✔ cancellation requested for execution ${execId}\n`);
    await statusIs(api, execId, 'CANCELED');
    const canceled = json<{ executions: { workflow_exec_id: string; status: string }[] }>(await cli('executions', 'list', project, '--status', 'CANCELED', '--json'));
    expect(canceled.executions[0]?.workflow_exec_id).toBe(execId);
    expect(new Set(canceled.executions.map((e) => e.status))).toEqual(new Set(['CANCELED']));
    const again = await cli('executions', 'cancel', execId, project);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already ended with CANCELED; there is nothing to cancel');

    const unknown = await cli('executions', 'get', '3N1LLpHZJp5uPAtD2fRXOxreM80', project);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Workflow execution 3N1LLpHZJp5uPAtD2fRXOxreM80 does not exist.');
    expect(unknown.stderr).toContain('`compozy executions list` shows the executions of');
    expect((await cli('executions', 'cancel', 'nope', project)).code).toBe(2);
  }, 30_000);
});
