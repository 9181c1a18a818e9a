import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CompozyError, createCompozy, type Compozy, type ExecutionEvent } from 'compozy';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';
import { recordRun } from '../helpers/files.js';
import { DATABASE_URL, REDIS_URL, withServices } from '../helpers/services.js';

// The weather agent answers from replay/weather.yaml when no Groq key is set.
delete process.env.GROQ_API_KEY;
// Children of the platform inherit it: after stop() none may be left.
const MARKER = randomUUID();
process.env.COMPOZY_API_TEST = MARKER;

function marked(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`COMPOZY_API_TEST=${MARKER}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function weatherCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'compozy-api-'));
  cpSync(resolve('examples', 'weather'), dir, { recursive: true, filter: (path) => !path.includes('.compozy') });
  return dir;
}

describe('createCompozy on a project folder, standalone', () => {
  let project: string;
  let compozy: Compozy;
  const events: ExecutionEvent[] = [];

  beforeAll(async () => {
    project = weatherCopy();
    compozy = createCompozy({ project, ephemeral: true, temporal: { bin: inject('temporalBin') } });
    await expect(compozy.workflows()).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    await compozy.start();
    compozy.subscribe((event) => events.push(event));
  }, 60_000);

  afterAll(async () => {
    await compozy?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('lists the workflows and runs one to its end, with its task states and events', async () => {
    expect((await compozy.workflows()).map((w) => w.id)).toEqual(['weather']);
    const execution = await compozy.runWorkflow('weather', { city: 'Lisbon' });
    expect(execution).toMatchObject({ workflowId: 'weather', status: 'SUCCESS', error: null, output: { city: 'Lisbon', weather: { weather: 'Clear sky', temperature: 21 } } });
    expect(execution.tasks.save_json).toMatchObject({ status: 'SUCCESS', toolId: 'save_data', output: { success: true, filename: 'results.json' } });
    expect(existsSync(join(project, 'results.json'))).toBe(true);
    await expect(compozy.execution(execution.execId)).resolves.toEqual(execution);
    expect((await compozy.executions({ workflowId: 'weather' })).map((e) => e.execId)).toContain(execution.execId);
    expect(events).toContainEqual(expect.objectContaining({ event: 'execution-started', execId: execution.execId }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'execution-finished', execId: execution.execId, status: 'SUCCESS' }));
  }, 60_000);

  it('runs an agent action and a tool directly, outside any workflow', async () => {
    await expect(compozy.runAgent('tourist_guide', { action: 'get_weather', input: { city: 'Porto' } })).resolves.toMatchObject({ output: { weather: 'Clear sky', temperature: 21, humidity: 55 } });
    await expect(compozy.runTool('save_data', { payload: { ok: true }, format: 'txt' })).resolves.toEqual({ success: true, format: 'txt', filename: 'results.txt' });
  }, 30_000);

  it('refuses bad calls with CompozyError codes', async () => {
    const unknown = await compozy.startWorkflow('wether').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(CompozyError);
    expect(unknown).toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    await expect(compozy.startWorkflow('weather', { town: 'Lisbon' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(compozy.execution('nope')).rejects.toMatchObject({ code: 'INVALID_EXEC_ID' });
    await expect(compozy.runTool('nope')).rejects.toMatchObject({ code: 'TOOL_NOT_FOUND' });
    await expect(compozy.runAgent('tourist_guide', {})).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('stop() leaves no process behind (the Temporal dev server, the tool pool)', async () => {
    expect(marked().length).toBeGreaterThan(0);
    await compozy.stop();
    expect(marked()).toEqual([]);
    await expect(compozy.workflows()).rejects.toMatchObject({ code: 'NOT_RUNNING' });
  }, 30_000);
});

describe('createCompozy on a project given as data', () => {
  it('writes it to a temporary folder and runs it like any project', async () => {
    const compozy = createCompozy({
      project: {
        config: { name: 'inline', workflows: [{ source: './hello.yaml' }] },
        files: { 'hello.yaml': { id: 'hello', tasks: [{ id: 'greet', type: 'aggregate', outputs: { message: 'hello {{ .workflow.input.name }}' } }], outputs: { message: '{{ .tasks.greet.output.message }}' } } },
      },
      ephemeral: true,
      temporal: { bin: inject('temporalBin') },
    });
    await compozy.start();
    try {
      await expect(compozy.runWorkflow('hello', { name: 'Ada' })).resolves.toMatchObject({ status: 'SUCCESS', output: { message: 'hello Ada' } });
    } finally {
      await compozy.stop();
    }
  }, 60_000);

  it('an invalid project is refused at start() with its diagnostics', async () => {
    const compozy = createCompozy({ project: { config: { name: 'bad', workflows: [{ source: './missing.yaml' }] } }, ephemeral: true });
    await expect(compozy.start()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/compozy\.yaml:3:\d+: workflows\[0\]\.source: Workflow file .\/missing\.yaml does not exist/) });
  });

  it("refuses a project whose compozy dev is running (their Temporal databases would be one file), pointing at its API", async () => {
    const dir = weatherCopy();
    recordRun(dir, 'weather', { supervisorPid: process.pid, apiUrl: 'http://127.0.0.1:5001', children: {} });
    try {
      await expect(createCompozy({ project: dir }).start()).rejects.toMatchObject({ code: 'ALREADY_RUNNING', hint: expect.stringContaining("createCompozy({ apiUrl: 'http://127.0.0.1:5001' })") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('needs a project or an apiUrl', () => {
    expect(() => createCompozy({} as never)).toThrow(CompozyError);
  });
});

await withServices(
  [
    ['Redis', REDIS_URL, 6379],
    ['PostgreSQL', DATABASE_URL, 5432],
  ],
  () => {
    describe('createCompozy in distributed mode: Redis, PostgreSQL and a running Temporal', () => {
      let temporal: TestTemporal;
      let worker: Compozy;
      let client: Compozy;
      const project = {
        config: { name: `api-distributed-${randomUUID().slice(0, 8)}`, workflows: [{ source: './hello.yaml' }] },
        files: { 'hello.yaml': { id: 'hello', tasks: [{ id: 'greet', type: 'aggregate', outputs: { message: 'hello {{ .workflow.input.name }}' } }] } },
      };

      beforeAll(async () => {
        temporal = await startTemporal(inject('temporalBin'));
        const settings = { mode: 'distributed' as const, temporal: { address: temporal.address, taskQueue: `api-${randomUUID()}` }, kv: { redisUrl: REDIS_URL }, store: { databaseUrl: DATABASE_URL } };
        worker = createCompozy({ project, ...settings });
        client = createCompozy({ project, ...settings });
        await worker.start();
        await client.start({ worker: false });
      }, 60_000);

      afterAll(async () => {
        await client?.stop();
        await worker?.stop();
        await temporal?.stop();
      });

      it('a client without a worker starts executions that the worker process runs', async () => {
        const execution = await client.runWorkflow('hello', { name: 'Grace' }, { timeoutMs: 30_000 });
        expect(execution).toMatchObject({ status: 'SUCCESS', tasks: { greet: { status: 'SUCCESS', output: { message: 'hello Grace' } } } });
        await expect(worker.execution(execution.execId)).resolves.toMatchObject({ status: 'SUCCESS' });
        expect(() => client.subscribe(() => undefined)).toThrow('This client runs no worker');
      }, 60_000);
    });
  },
);
