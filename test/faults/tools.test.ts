import { Client, Connection } from '@temporalio/client';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { ComponentHealth, HealthReport } from '../../src/health.js';
import { commandLineOf, isPidAlive } from '../../src/platform/pids.js';
import { copyFixture, DevProcess, killQuietly, stopDevProcesses, waitUntilDead } from '../helpers/cli.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const devs: DevProcess[] = [];
const strays: number[] = [];

afterEach(async () => {
  await stopDevProcesses(devs);
  strays.splice(0).forEach(killQuietly);
});

interface Envelope {
  status: number;
  data?: Record<string, unknown>;
  error?: { code: string; message: string };
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<Envelope> {
  const response = await fetch(`${base}/api/v0${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return (await response.json()) as Envelope;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Live processes whose command line mentions the project folder: tools, the watchdog, serve, Temporal. */
function processesOf(project: string): Array<{ pid: number; command: string }> {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid)
    .map((pid) => ({ pid, command: commandLineOf(pid)?.join(' ') ?? '' }))
    .filter(({ command }) => command.includes(project));
}

const toolProcesses = (project: string) => processesOf(project).filter(({ command }) => command.includes('worker-main.js') && !command.includes('watchdog.js'));

async function nothingLeft(project: string): Promise<void> {
  await until(`no process of ${project} left (${JSON.stringify(processesOf(project))})`, () => processesOf(project).length === 0, 30_000);
}

async function startDev(project: string): Promise<{ dev: DevProcess; apiUrl: string; health: HealthReport }> {
  const dev = new DevProcess([project, '--port', '0'], env);
  devs.push(dev);
  const ready = await dev.waitFor('ready', 1, 90_000);
  return { dev, apiUrl: ready.apiUrl as string, health: ready.health as HealthReport };
}

/** Starts the spin workflow and waits until its tool spins; returns the tool's pid. */
async function spin(apiUrl: string, project: string): Promise<number> {
  const before = new Set(readdirSync(project).filter((f) => f.startsWith('spinning-')));
  const started = await api(apiUrl, 'POST', '/workflows/spin/executions', { input: {} });
  expect(started.status).toBe(202);
  const file = await until('the tool to spin', () => readdirSync(project).find((f) => f.startsWith('spinning-') && !before.has(f)));
  const pid = Number(file.slice('spinning-'.length));
  strays.push(pid);
  expect(isPidAlive(pid)).toBe(true);
  return pid;
}

const toolsRow = (health: HealthReport) => health.components.find((c) => c.name === 'tools') as ComponentHealth | undefined;

describe('a tool entrypoint that cannot load', () => {
  it('is a tools row down with the cause, fails its task at once with TOOL_ENTRYPOINT_FAILED, and is reloaded when fixed', async () => {
    const project = copyFixture('faults-tools');
    writeFileSync(join(project, 'entrypoint.ts'), `export default { greet: () => ({ greeting: 'never' }) };\nthrow new Error('OPENWEATHER_KEY is not set');\n`);
    const { apiUrl, health } = await startDev(project);
    expect(toolsRow(health)).toMatchObject({ name: 'tools', state: 'down', path: join(project, 'entrypoint.ts') });
    expect(toolsRow(health)?.detail).toContain('TOOL_ENTRYPOINT_FAILED');
    expect(toolsRow(health)?.detail).toContain('OPENWEATHER_KEY is not set');
    expect(toolsRow(health)?.detail).toContain(`${join(project, 'entrypoint.ts')}:2`);
    const report = await fetch(`${apiUrl}/api/v0/health`);
    expect(report.status).toBe(503);
    expect(toolsRow(((await report.json()) as { data: HealthReport }).data)).toMatchObject({ state: 'down' });

    const started = await api(apiUrl, 'POST', '/workflows/greet/executions', { input: { name: 'Ada' } });
    const execId = started.data?.exec_id as string;
    const finished = await until('the execution to end', async () => {
      const execution = (await api(apiUrl, 'GET', `/executions/workflows/${execId}`)).data;
      return execution && !['PENDING', 'RUNNING'].includes(execution.status as string) ? execution : undefined;
    });
    expect(finished.status).toBe('FAILED');
    expect((finished.error as { code: string }).code).toBe('TOOL_ENTRYPOINT_FAILED');
    const task = (finished.tasks as Record<string, { status: string; error: { code: string; message: string } }>).hello;
    expect(task?.status).toBe('FAILED');
    expect(task?.error.code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(task?.error.message).toContain('OPENWEATHER_KEY is not set');
    // Not retried: the one activity that ran the tool task ran once.
    const ready = devs[0]?.events.find((e) => e.event === 'ready');
    const connection = await Connection.connect({ address: ready?.temporalAddress as string });
    try {
      const history = await new Client({ connection }).workflow.getHandle(execId).fetchHistory();
      const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : []));
      expect(attempts.length).toBeGreaterThan(0);
      expect(attempts.every((n) => n === 1)).toBe(true);
    } finally {
      await connection.close();
    }

    writeFileSync(join(project, 'entrypoint.ts'), `export default { greet: (input: { name: string }) => ({ greeting: \`hello \${input.name}\` }) };\n`);
    await until('the tools row to come up', async () => {
      const body = (await (await fetch(`${apiUrl}/api/v0/health`)).json()) as { data: HealthReport };
      return toolsRow(body.data)?.state === 'up';
    });
    const again = await api(apiUrl, 'POST', '/workflows/greet/executions', { input: { name: 'Ada' } });
    const second = await until('the second execution to end', async () => {
      const execution = (await api(apiUrl, 'GET', `/executions/workflows/${again.data?.exec_id as string}`)).data;
      return execution && !['PENDING', 'RUNNING'].includes(execution.status as string) ? execution : undefined;
    });
    expect(second).toMatchObject({ status: 'SUCCESS', output: { greeting: 'hello Ada' } });
  }, 180_000);
});

describe('a tool stuck in a CPU loop', () => {
  it('does not outlive Ctrl-C to dev (and a tool line without a newline reached serve.log)', async () => {
    const project = copyFixture('faults-tools');
    const { dev, apiUrl } = await startDev(project);
    const said = await api(apiUrl, 'POST', '/workflows/say/executions', { input: {} });
    await until('the say execution to succeed', async () => (await api(apiUrl, 'GET', `/executions/workflows/${said.data?.exec_id as string}`)).data?.status === 'SUCCESS');
    const logDir = dev.events.find((e) => e.event === 'ready')?.logDir as string;
    await until('the last words in serve.log', () => readFileSync(join(logDir, 'serve.log'), 'utf8').includes('last words without a newline'), 10_000);
    const pid = await spin(apiUrl, project);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(await waitUntilDead([pid], 15_000)).toEqual([]);
    await nothingLeft(project);
  }, 180_000);

  it('dies with serve when serve is SIGKILLed, and the restarted serve stops its own at Ctrl-C', async () => {
    const project = copyFixture('faults-tools');
    const { dev, apiUrl, health } = await startDev(project);
    const pid = await spin(apiUrl, project);
    const serve = health.components.find((c) => c.name === 'api')?.pid as number;
    process.kill(serve, 'SIGKILL');
    expect(await waitUntilDead([pid], 15_000)).toEqual([]);
    await dev.waitFor('restart', 1, 60_000);
    await until('the restarted serve to run tools', () => toolProcesses(project).length > 0, 60_000);
    dev.child.kill('SIGINT');
    await dev.exited;
    await nothingLeft(project);
  }, 240_000);

  it('does not outlive a SIGKILLed supervisor', async () => {
    const project = copyFixture('faults-tools');
    const { dev, apiUrl } = await startDev(project);
    const pid = await spin(apiUrl, project);
    dev.child.kill('SIGKILL');
    await dev.exited;
    expect(await waitUntilDead([pid], 20_000)).toEqual([]);
    await nothingLeft(project);
  }, 180_000);
});

/** A copy of faults-tools whose tools read files, forge results and read their env, under runtime.permissions. */
function sandboxProject(): string {
  const project = copyFixture('faults-tools');
  mkdirSync(join(project, 'data'));
  writeFileSync(join(project, 'data', 'a.txt'), 'data');
  writeFileSync(
    join(project, 'entrypoint.ts'),
    `import { readFileSync } from 'node:fs';
export default {
  greet: (input: { name: string }) => ({ greeting: \`hello \${input.name}\` }),
  spin: () => 1,
  say: () => ({ ok: true }),
  peek: (input: { path: string }) => {
    try {
      return { text: readFileSync(input.path, 'utf8') };
    } catch (error) {
      return { denied: (error as { code?: string }).code ?? String(error) };
    }
  },
  forge: () => {
    const send = (process as { send?: (message: unknown) => void }).send;
    for (let id = 1; id <= 200; id++) send?.({ type: 'result', id, value: { forged: true } });
    return { forged: false, send: typeof send };
  },
  envy: () => ({ style: process.env.GREETING_STYLE ?? null }),
  loaded: () => ({ ran: true }),
};
`,
  );
  const workflow = (id: string, tool: string, extra = '') => `id: ${id}
config:
  input:
    type: object
    properties:
      path: { type: string }
tools:
  - id: ${tool}
${extra}tasks:
  - id: run
    tool: ${tool}
    with:
      path: "{{ .workflow.input.path }}"
outputs:
  result: "{{ .tasks.run.output }}"
`;
  writeFileSync(join(project, 'workflows', 'peek.yaml'), workflow('peek', 'peek'));
  writeFileSync(join(project, 'workflows', 'forge.yaml'), workflow('forge', 'forge'));
  writeFileSync(join(project, 'workflows', 'envy.yaml'), workflow('envy', 'envy', '    env:\n      GREETING_STYLE: warm\n'));
  writeFileSync(join(project, 'workflows', 'loader.yaml'), workflow('loader', 'loaded', '    env:\n      NODE_OPTIONS: --require /tmp/evil.js\n'));
  const yaml = readFileSync(join(project, 'compozy.yaml'), 'utf8').replace(
    '  - source: ./workflows/say.yaml\n',
    '  - source: ./workflows/say.yaml\n  - source: ./workflows/peek.yaml\n  - source: ./workflows/forge.yaml\n  - source: ./workflows/envy.yaml\n  - source: ./workflows/loader.yaml\n',
  );
  writeFileSync(join(project, 'compozy.yaml'), `${yaml}  permissions:\n    - --allow-read=./data\n`);
  return project;
}

async function execute(apiUrl: string, workflow: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const started = await api(apiUrl, 'POST', `/workflows/${workflow}/executions`, { input });
  expect(started.status).toBe(202);
  return until(`the ${workflow} execution to end`, async () => {
    const execution = (await api(apiUrl, 'GET', `/executions/workflows/${started.data?.exec_id as string}`)).data;
    return execution && !['PENDING', 'RUNNING'].includes(execution.status as string) ? execution : undefined;
  });
}

describe('the tool sandbox of a running project', () => {
  it('a symlink out of a granted folder keeps the tools row down; .compozy/ stays out, also through ..; a forged result is not taken; YAML env: reaches the tool and a loader variable in it is refused', async () => {
    const project = sandboxProject();
    const link = join(project, 'data', 'link_passwd');
    symlinkSync('/etc/passwd', link);
    const { apiUrl, health } = await startDev(project);
    expect(toolsRow(health)).toMatchObject({ state: 'down' });
    expect(toolsRow(health)?.detail).toContain(`CONFIG_INVALID: ${link} is a symbolic link to /etc/passwd`);
    const refused = await execute(apiUrl, 'peek', { path: link });
    expect(refused.status).toBe('FAILED');
    expect((refused.error as { code: string }).code).toBe('CONFIG_INVALID');

    unlinkSync(link);
    writeFileSync(join(project, 'entrypoint.ts'), `${readFileSync(join(project, 'entrypoint.ts'), 'utf8')}\n`);
    const up = await until('the tools row to come up', async () => {
      const row = toolsRow(((await (await fetch(`${apiUrl}/api/v0/health`)).json()) as { data: HealthReport }).data);
      return row?.state === 'up' ? row : undefined;
    });
    expect(up.detail).toContain('not enforced: network access is not denied');

    for (const path of [join(project, '.compozy', 'kv.db'), join(project, 'data', '..', '.compozy', 'compozy.db')]) {
      expect(await execute(apiUrl, 'peek', { path })).toMatchObject({ status: 'SUCCESS', output: { result: { denied: 'ERR_ACCESS_DENIED' } } });
    }
    expect(await execute(apiUrl, 'peek', { path: join(project, 'data', 'a.txt') })).toMatchObject({ status: 'SUCCESS', output: { result: { text: 'data' } } });
    expect(await execute(apiUrl, 'forge', { path: '' })).toMatchObject({ status: 'SUCCESS', output: { result: { forged: false, send: 'undefined' } } });
    expect(await execute(apiUrl, 'envy', { path: '' })).toMatchObject({ status: 'SUCCESS', output: { result: { style: 'warm' } } });
    const loader = await execute(apiUrl, 'loader', { path: '' });
    expect(loader.status).toBe('FAILED');
    expect((loader.error as { code: string }).code).toBe('TOOL_ENV_REJECTED');
  }, 180_000);
});
