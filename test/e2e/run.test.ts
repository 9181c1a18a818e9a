import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { CliProcess, copyExample, copyFixture, DevProcess, runCli, stopDevProcesses } from '../helpers/cli.js';
import { portRacingTemporal, tempDir } from '../helpers/fake-bin.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' };
const started: DevProcess[] = [];
const runs: CliProcess[] = [];

afterEach(async () => {
  await stopDevProcesses(started);
  await Promise.all(runs.splice(0).map((run) => run.stop()));
});

/** Processes whose command line names the project (the Temporal dev server's DB file, serve's project argument). */
function processesOf(project: string): string[] {
  const result = spawnSync('pgrep', ['-fa', project], { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.trim() !== '' && !line.includes('pgrep'));
}

describe('compozy run (smoke runs)', () => {
  it('starts the platform, runs the workflow, prints the final state, stops everything, exits 0 on SUCCESS', async () => {
    const project = copyExample('weather');
    const result = await runCli(['run', 'weather', project, '--input', '{"city":"Porto"}', '--json', '--port', '0'], env);
    expect(result.code).toBe(0);
    const state = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { status: string; output: { city: string }; tasks: Record<string, unknown> };
    expect(state.status).toBe('SUCCESS');
    expect(state.output.city).toBe('Porto');
    expect(result.stderr).toContain('• weather: SUCCESS');
    expect(result.stderr).toContain('✔ Stopped.');
    expect(existsSync(join(project, 'results.json'))).toBe(true);
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
    expect(processesOf(project)).toEqual([]);
  }, 120_000);

  it('--ephemeral: a cold run keeps its state in a temporary folder, so the project has no .compozy/ afterwards', async () => {
    const project = copyExample('weather');
    const result = await runCli(['run', 'weather', project, '--input', '{"city":"Faro"}', '--json', '--port', '0', '--ephemeral'], env);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { status: string }).status).toBe('SUCCESS');
    expect(existsSync(join(project, 'results.json'))).toBe(true);
    expect(existsSync(join(project, '.compozy'))).toBe(false);
    expect(processesOf(project)).toEqual([]);
  }, 120_000);

  it('exits 1 when the execution fails, printing its error', async () => {
    const project = copyFixture('engine-api');
    const result = await runCli(['run', 'approval_quick', project, '--port', '0'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ approval_quick FAILED');
    expect(result.stdout).toContain('wait task timed out after 1s');
    expect(processesOf(project)).toEqual([]);
  }, 120_000);

  it('exits 2 on input the workflow refuses, and on input that is not JSON, listing the problems', async () => {
    const project = copyFixture('engine-api');
    const refused = await runCli(['run', 'nap', project, '--input', '{"n":"x"}', '--port', '0'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Input does not match the input schema of workflow nap:\n  /n must be integer');
    expect(refused.stderr.split('/n must be integer')).toHaveLength(2);
    expect(refused.stderr).not.toContain('Starting Temporal');
    expect(processesOf(project)).toEqual([]);
    const notJson = await runCli(['run', 'nap', project, '--input', '{n:'], env);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--input is not JSON');
  }, 120_000);

  it('uses a running compozy dev of the project and leaves it running', async () => {
    const project = copyFixture('engine-api');
    const dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    await dev.waitFor('ready');
    const missing = await runCli(['run', 'nap', '.', '--input-file', 'no-such.json'], env, project);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--input-file no-such.json does not exist (${join(project, 'no-such.json')}).`);
    expect(missing.stderr).toContain(`Give a path from the current folder (${project}) or an absolute one.`);
    const inputFile = join(tempDir('input'), 'input.json');
    writeFileSync(inputFile, '{"n": 4}');
    const ok = await runCli(['run', 'nap', project, '--input-file', inputFile], env);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('Using the running compozy dev');
    expect(JSON.parse(readFileSync(join(project, '.compozy', 'run.json'), 'utf8'))).toMatchObject({ supervisorPid: dev.pid });
    expect(dev.child.exitCode).toBeNull();
    expect(ok.stdout).toContain('"n": 4');

    const status = await runCli(['status', basename(project)], env, dirname(project));
    expect(status.stdout).toMatch(/\b1 execution\b(?!s)/);
    const ephemeral = await runCli(['run', 'nap', project, '--input', '{"n": 2}', '--ephemeral'], env);
    expect(ephemeral.code).toBe(0);
    expect(ephemeral.stderr).toContain('Using the running compozy dev');
    const second = await runCli(['dev', basename(project), '--port', '0'], env, dirname(project));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`Use \`compozy status ${basename(project)}\` to see it`);
  }, 120_000);

  it('refuses a workflow the project does not define before starting anything, listing them and suggesting the nearest', async () => {
    const project = copyFixture('engine-api');
    const typo = await runCli(['run', 'naap', project, '--port', '0'], env);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`Workflow "naap" does not exist in project engine-api (${project}).`);
    expect(typo.stderr).toContain('Did you mean "nap"? Workflows: approval, approval_quick, nap, on_event.');
    expect(typo.stderr).not.toContain('API ready');
    const nope = await runCli(['run', 'checkout', project, '--json'], env);
    expect(nope.code).toBe(2);
    expect(JSON.parse(nope.stdout)).toEqual({
      error: { code: 'WORKFLOW_NOT_FOUND', message: `Workflow "checkout" does not exist in project engine-api (${project}).`, hint: 'Workflows: approval, approval_quick, nap, on_event.' },
    });
    expect(processesOf(project)).toEqual([]);
  }, 120_000);
});

describe('a cold compozy run (the engine in the run process, Temporal its child)', () => {
  it('serves no API without --port; a compozy dev of the project refuses to start meanwhile; SIGTERM stops it all: exit 1, nothing left', async () => {
    const project = copyFixture('engine-api');
    const run = new CliProcess(['run', 'approval', project], env);
    runs.push(run);
    await run.waitForOutput('• approval: execution');
    expect(run.output).toContain('✔ Worker polling');
    expect(run.output).not.toContain('API ready');
    expect(JSON.parse(readFileSync(join(project, '.compozy', 'run.json'), 'utf8'))).toMatchObject({ command: 'run', supervisorPid: run.child.pid, apiUrl: '' });
    const dev = await runCli(['dev', project, '--port', '0'], env);
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain(`compozy run is already running for this project (pid ${run.child.pid}).`);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(1);
    expect(run.output).toContain('• Stopping (received SIGTERM)…');
    expect(run.output).toContain('✔ Stopped.');
    expect(run.output).toMatch(/The smoke run was stopped \(received SIGTERM\) before execution \S+ ended \(last status \w+\)\./);
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
    expect(processesOf(project)).toEqual([]);
  }, 120_000);

  it('--port serves the API during the run: a signal sent through it lets the waiting execution finish, and the run exits 0', async () => {
    const project = copyFixture('engine-api');
    const run = new CliProcess(['run', 'approval', project, '--port', '0', '--json'], env);
    runs.push(run);
    await run.waitForOutput('• approval: execution');
    const url = /API ready on (http:\/\/[\d.:]+), worker polling/.exec(run.output)?.[1];
    const execId = /execution (\S+) started/.exec(run.output)?.[1];
    expect(url).toBeDefined();
    const sent = await fetch(`${url}/api/v0/executions/workflows/${execId}/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signal_name: 'approved', payload: { ok: true, by: 'ada' } }),
    });
    expect(sent.status).toBe(200);
    expect(await run.exited).toBe(0);
    const state = JSON.parse(run.output.trim().split('\n').find((line) => line.startsWith('{')) ?? '{}') as { status: string; tasks: Record<string, { output: unknown }> };
    expect(state.status).toBe('SUCCESS');
    expect(state.tasks.approved?.output).toEqual({ by: 'ada' });
    expect(processesOf(project)).toEqual([]);
  }, 120_000);

  it('Ctrl-C during start-up stops what already started: exit 1, nothing left', async () => {
    const project = copyFixture('engine-api');
    const run = new CliProcess(['run', 'nap', project, '--input', '{"n":1}'], env);
    runs.push(run);
    await run.waitForOutput('• Starting Temporal dev server');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(1);
    expect(run.output).toContain('The smoke run was stopped (received SIGINT)');
    expect(run.output).toContain('✔ Stopped.');
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
    expect(processesOf(project)).toEqual([]);
  }, 120_000);
  it('starts Temporal again on another port when another process took its port before it bound it', async () => {
    const dir = tempDir('racy-temporal');
    const racy = portRacingTemporal(dir, inject('temporalBin'));
    const project = copyFixture('engine-api');
    const result = await runCli(['run', 'nap', project, '--input', '{"n":1}'], { ...env, COMPOZY_TEMPORAL_BIN: racy });
    expect(result.code, result.stderr).toBe(0);
    const addresses = [...result.stderr.matchAll(/Starting Temporal dev server \(CLI [^)]+\) on (\S+)…/g)].map((match) => match[1]);
    expect(addresses).toHaveLength(2);
    expect(addresses[1]).not.toBe(addresses[0]);
    expect(readFileSync(join(project, '.compozy', 'logs', 'temporal.log'), 'utf8')).toContain(`its port was taken; starting again on ${addresses[1]}`);
    expect(processesOf(project)).toEqual([]);
  }, 120_000);
});
