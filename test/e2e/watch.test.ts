import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { copyFixture, DevProcess, stopDevProcesses, waitUntilDead } from '../helpers/cli.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const started: DevProcess[] = [];

afterEach(async () => {
  await stopDevProcesses(started);
});

/** A workflow that waits for the signal "go", then greets with `word` and stamps with the tool. */
function workflow(word: string): string {
  return [
    'id: hello',
    'tools:',
    '  - id: stamp',
    'tasks:',
    '  - id: hold',
    '    type: wait',
    '    wait_for: go',
    '    condition: "true"',
    '    timeout: 120s',
    '    on_success:',
    '      next: greet',
    '  - id: greet',
    '    type: aggregate',
    `    outputs: { greeting: "${word} {{ .workflow.input.name }}" }`,
    '    on_success:',
    '      next: stamp',
    '  - id: stamp',
    '    tool: stamp',
    'outputs:',
    '  greeting: "{{ .tasks.greet.output.greeting }}"',
    '  stamp: "{{ .tasks.stamp.output.version }}"',
    '',
  ].join('\n');
}

const tool = (version: string) => `export default { stamp: async () => ({ version: '${version}' }) };\n`;

class Api {
  constructor(private readonly url: string) {}

  async start(name: string): Promise<string> {
    const response = await fetch(`${this.url}/api/v0/workflows/hello/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { name } }) });
    expect(response.status).toBe(202);
    return ((await response.json()) as { data: { exec_id: string } }).data.exec_id;
  }

  async status(execId: string): Promise<{ status: string; output: Record<string, unknown> | null }> {
    const body = (await (await fetch(`${this.url}/api/v0/executions/workflows/${execId}`)).json()) as { data: { status: string; output: Record<string, unknown> | null } };
    return { status: body.data.status, output: body.data.output };
  }

  /** Signals "go": the wait task takes it from the execution's inbox, even if it arrives first. */
  async release(execId: string): Promise<void> {
    const response = await fetch(`${this.url}/api/v0/executions/workflows/${execId}/signals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signal_name: 'go', payload: {} }) });
    expect(response.status).toBe(200);
  }

  async output(execId: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 600; i++) {
      const state = await this.status(execId);
      if (state.status === 'SUCCESS') return state.output ?? {};
      if (state.status === 'FAILED' || state.status === 'CANCELED' || state.status === 'TIMED_OUT') throw new Error(`${execId} ended ${state.status}: ${JSON.stringify(state)}`);
      await sleep(50);
    }
    throw new Error(`${execId} did not end`);
  }
}

async function waitForLog(dev: DevProcess, pattern: RegExp, after: number): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const found = dev.stderr.slice(after).match(pattern);
    if (found) return found[0];
    if (dev.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`no ${pattern} in stderr:\n${dev.stderr.slice(-3000)}`);
}

describe('compozy dev watch mode', () => {
  it('reloads a changed workflow and tool for the next execution, keeps running ones on their version, and keeps the old version on an invalid edit', async () => {
    const project = copyFixture('minimal');
    const flow = join(project, 'hello.yaml');
    writeFileSync(flow, workflow('hello'));
    writeFileSync(join(project, 'entrypoint.ts'), tool('one'));
    writeFileSync(join(project, 'compozy.yaml'), `${readFileSync(join(project, 'compozy.yaml'), 'utf8')}workflows:\n  - source: ./hello.yaml\n`);
    const dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const api = new Api(ready.apiUrl as string);
    const serve = (ready.health as HealthReport).components.find((c) => c.name === 'api')?.pid as number;
    expect(readFileSync(`/proc/${serve}/cmdline`, 'utf8').split('\0')).toContain('--watch');

    const before = await api.start('Ada');
    // The tool's code, then the workflow: each save is its own reload.
    let mark = dev.stderr.length;
    writeFileSync(join(project, 'entrypoint.ts'), tool('two'));
    const toolReload = await waitForLog(dev, /reloaded in .* \(entrypoint\.ts changed\)[^\n]*\n[^\n]*/, mark);
    expect(toolReload).toMatch(/: 1 workflow, 0 agents, 1 tool;/);
    expect(toolReload).not.toMatch(/restart to apply/);
    // dev shows the health table again after a reload (with --json, a reload event carrying it).
    const shown = await dev.waitFor('reload');
    expect((shown.health as HealthReport).components.find((c) => c.name === 'api')?.detail).toMatch(/^project reloaded 1× /);
    mark = dev.stderr.length;
    writeFileSync(flow, workflow('bonjour'));
    await waitForLog(dev, /reloaded in .* \(hello\.yaml changed\)/, mark);

    const after = await api.start('Ada');
    await api.release(after);
    expect(await api.output(after)).toEqual({ greeting: 'bonjour Ada', stamp: 'two' });
    // Started before the reload: its own definition; the tool is the pool's current code.
    await api.release(before);
    expect(await api.output(before)).toEqual({ greeting: 'hello Ada', stamp: 'two' });

    mark = dev.stderr.length;
    writeFileSync(flow, workflow('hola').replace('type: aggregate', 'type: agregate'));
    const refused = await waitForLog(dev, /not reloaded \(hello\.yaml changed\)[^]*?the previous version keeps running/, mark);
    expect(refused).toMatch(/hello\.yaml:13:5: tasks\[1\]\.type: Unknown task type "agregate"/);
    const still = await api.start('Ada');
    await api.release(still);
    expect(await api.output(still)).toEqual({ greeting: 'bonjour Ada', stamp: 'two' });

    mark = dev.stderr.length;
    writeFileSync(flow, workflow('bonjour'));
    await waitForLog(dev, /reloaded in .* \(hello\.yaml changed\)/, mark);
    mark = dev.stderr.length;
    writeFileSync(join(project, 'compozy.yaml'), `${readFileSync(join(project, 'compozy.yaml'), 'utf8')}runtime:\n  pool_size: 3\n`);
    await waitForLog(dev, /reloaded in .* \(compozy\.yaml changed\).*\n.*! restart to apply the changed settings: runtime\.pool_size/, mark);
    const api_row = ((await (await fetch(`${ready.apiUrl as string}/api/v0/health`)).json()) as { data: HealthReport }).data.components.find((c) => c.name === 'api');
    expect(api_row?.detail).toMatch(/^project reloaded 4× \(last \d\d:\d\d:\d\d UTC\)$/);

    const temporal = (ready.health as HealthReport).components.find((c) => c.name === 'temporal')?.pid as number;
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(await waitUntilDead([serve, temporal], 5000)).toEqual([]);
  }, 120_000);

  it('--no-watch leaves the running version as it is', async () => {
    const project = copyFixture('minimal');
    const flow = join(project, 'hello.yaml');
    writeFileSync(flow, workflow('hello'));
    writeFileSync(join(project, 'entrypoint.ts'), tool('one'));
    writeFileSync(join(project, 'compozy.yaml'), `${readFileSync(join(project, 'compozy.yaml'), 'utf8')}workflows:\n  - source: ./hello.yaml\n`);
    const dev = new DevProcess([project, '--port', '0', '--no-watch'], env);
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const api = new Api(ready.apiUrl as string);
    const health = (await (await fetch(`${ready.apiUrl as string}/api/v0/health`)).json()) as { data: HealthReport };
    const serve = health.data.components.find((c) => c.name === 'api')?.pid as number;
    expect(readFileSync(`/proc/${serve}/cmdline`, 'utf8').split('\0')).not.toContain('--watch');
    writeFileSync(flow, workflow('bonjour'));
    const first = await api.start('Ada');
    await api.release(first);
    expect(await api.output(first)).toEqual({ greeting: 'hello Ada', stamp: 'one' });
    expect(dev.stderr).not.toMatch(/reloaded/);
  }, 120_000);
});
