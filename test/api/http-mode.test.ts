import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CompozyError, createCompozy, type Compozy } from 'compozy';
import { REPO } from '../helpers/cli.js';

const hello = {
  config: { name: 'http-mode', workflows: [{ source: './hello.yaml' }, { source: './nap.yaml' }] },
  files: {
    'hello.yaml': { id: 'hello', tasks: [{ id: 'greet', type: 'aggregate', outputs: { message: 'hello {{ .workflow.input.name }}' } }], outputs: { message: '{{ .tasks.greet.output.message }}' } },
    'nap.yaml': { id: 'nap', tasks: [{ id: 'sleep', type: 'wait', wait_for: 'never', condition: 'true', timeout: '60s' }] },
  },
};

describe('createCompozy in HTTP mode: start({ http }) serves the API compozy serve serves', () => {
  let compozy: Compozy;
  const lines: string[] = [];

  beforeAll(async () => {
    compozy = createCompozy({ project: hello, ephemeral: true, temporal: { bin: inject('temporalBin') }, log: (line) => lines.push(line) });
    expect(compozy.apiUrl).toBeUndefined();
    await compozy.start({ http: { host: '127.0.0.1', port: 0 } });
  }, 60_000);

  afterAll(async () => {
    await compozy?.stop();
  });

  it('listens on a free port, is ready once start() resolves, and runs executions over HTTP', async () => {
    const url = compozy.apiUrl as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines).toContain(`api listening on ${url}`);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const health = (await (await fetch(`${url}/api/v0/health`)).json()) as { data: { components: { name: string; state: string; backend?: string }[] } };
    expect(health.data.components.find((row) => row.name === 'temporal')).toMatchObject({ state: 'up', backend: expect.stringContaining('embedded dev server') });
    const remote = createCompozy({ apiUrl: url });
    await remote.start();
    const execution = await remote.runWorkflow('hello', { name: 'Ada' }, { timeoutMs: 30_000 });
    expect(execution).toMatchObject({ status: 'SUCCESS', output: { message: 'hello Ada' } });
    await expect(compozy.execution(execution.execId)).resolves.toEqual(execution);
  }, 60_000);

  it('the same start() again is the same platform; other options are refused with ALREADY_RUNNING', async () => {
    const url = compozy.apiUrl;
    await compozy.start({ http: { host: '127.0.0.1', port: 0 } });
    expect(compozy.apiUrl).toBe(url);
    const refused = await compozy.start().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CompozyError);
    expect(refused).toMatchObject({ code: 'ALREADY_RUNNING', details: { started: { worker: true, http: { host: '127.0.0.1', port: 0 } }, requested: { worker: true, http: null } } });
    await expect(compozy.start({ worker: false, http: { host: '127.0.0.1', port: 0 } })).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
  });

  it('a wait that runs out is WAIT_TIMEOUT, not CHECK_FAILED, and the execution keeps running', async () => {
    const { execId } = await compozy.startWorkflow('nap');
    await expect(compozy.waitFor(execId, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT', details: { execId } });
    await expect(compozy.runWorkflow('nap', {}, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
    // A wait task's execution is PAUSED while it waits for its signal: still going, not ended.
    expect((await compozy.execution(execId)).status).toBe('PAUSED');
  }, 30_000);

  it('stop() closes the port', async () => {
    const url = compozy.apiUrl as string;
    await compozy.stop();
    expect(compozy.apiUrl).toBeUndefined();
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  }, 30_000);
});

describe('a project given as data keeps its state only where it is told to', () => {
  it('without stateDir or ephemeral it is refused at start(), naming what would have had no folder', async () => {
    const compozy = createCompozy({ project: hello, temporal: { bin: inject('temporalBin') } });
    await expect(compozy.start()).rejects.toMatchObject({
      code: 'USAGE',
      message: "A project given as data has no folder to keep its state in (the SQLite KV, the SQLite store, the embedded Temporal's history).",
      hint: 'Give stateDir (kept across runs) or ephemeral: true (removed by stop()).',
    });
  });

  it('with a stateDir its state is still there after stop(), and the next start reads it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'compozy-api-state-'));
    try {
      const first = createCompozy({ project: hello, stateDir, temporal: { bin: inject('temporalBin') } });
      await first.start();
      const { execId } = await first.runWorkflow('hello', { name: 'Kept' }, { timeoutMs: 30_000 });
      await first.stop();
      expect(existsSync(join(stateDir, 'compozy.db'))).toBe(true);
      expect(existsSync(join(stateDir, 'kv.db'))).toBe(true);
      const second = createCompozy({ project: hello, stateDir, temporal: { bin: inject('temporalBin') } });
      await second.start();
      try {
        await expect(second.execution(execId)).resolves.toMatchObject({ status: 'SUCCESS', output: { message: 'hello Kept' } });
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("README's HTTP-mode example", () => {
  it('runs as written: serves the API, runs the weather workflow over it, stops', async () => {
    // Inside the repository, so `import 'compozy'` resolves to this package (its self-reference) as it would from an install.
    const dir = mkdtempSync(join(REPO, '.http-example-'));
    try {
      cpSync(join(REPO, 'examples', 'weather'), join(dir, 'weather'), { recursive: true, filter: (path) => !path.includes('.compozy') && !/results\.(json|txt)$/.test(path) });
      const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
      const start = readme.indexOf('// serve-weather.mjs');
      expect(start).toBeGreaterThan(0);
      writeFileSync(join(dir, 'serve-weather.mjs'), readme.slice(start, readme.indexOf('```', start)));
      const { stdout } = await promisify(execFile)(process.execPath, ['serve-weather.mjs'], {
        cwd: dir,
        env: { ...process.env, GROQ_API_KEY: '' },
        timeout: 90_000,
      });
      expect(stdout).toMatch(/^SUCCESS http:\/\/127\.0\.0\.1:\d+$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
