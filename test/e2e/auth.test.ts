import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess, copyFixture, DevProcess, runCli, stopDevProcesses, type JsonEvent } from '../helpers/cli.js';
import { tempDir, writeScript } from '../helpers/fake-bin.js';
import { DATABASE_URL, REDIS_URL, withServices } from '../helpers/services.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
const procs: CliProcess[] = [];
const devs: DevProcess[] = [];
/** No stored login key from the machine this runs on: only what a test passes counts. */
const noLogin = { XDG_CONFIG_HOME: tempDir('auth-e2e-config'), COMPOZY_API_KEY: '' };

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
}, 60_000);

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await stopDevProcesses(devs);
});

afterAll(async () => {
  await temporal?.stop();
});

async function createKey(dir: string, scope: string, env: NodeJS.ProcessEnv = {}, mode = 'standalone'): Promise<{ key: string; id: string }> {
  const created = await runCli(['auth', 'create-key', dir, '--name', `e2e ${scope}`, '--scope', scope, '--mode', mode, '--json'], { ...noLogin, ...env });
  expect(created.code, created.stderr).toBe(0);
  return JSON.parse(created.stdout) as { key: string; id: string };
}

function events(process: CliProcess): JsonEvent[] {
  return process.output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as JsonEvent];
    } catch {
      return [];
    }
  });
}

async function listening(process: CliProcess): Promise<number> {
  await process.waitForOutput('"event":"listening"', 45_000);
  return Number(events(process).find((e) => e.event === 'listening')?.port);
}

async function call(url: string, key?: string, init: RequestInit = {}): Promise<{ status: number; text: string; body: { data?: Record<string, unknown>; error?: { code: string; message: string } }; headers: Headers }> {
  const response = await fetch(url, { ...init, headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) } });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as never, headers: response.headers };
}

const startNap = (base: string, key?: string) => call(`${base}/api/v0/workflows/nap/executions`, key, { method: 'POST', body: JSON.stringify({ input: { n: 7 } }) });

describe('API keys end to end', () => {
  it('a non-loopback compozy start with no key refuses to start, naming the command that creates one', async () => {
    const dir = copyFixture('engine-api');
    const start = new CliProcess(['start', dir, '--mode', 'standalone', '--host', '0.0.0.0', '--port', '0', '--temporal-address', temporal.address, '--json'], noLogin);
    procs.push(start);
    expect(await start.exited).toBe(2);
    const error = events(start).at(-1) as { error?: { code: string; message: string; hint: string } };
    expect(error.error?.code).toBe('CONFIG_INVALID');
    expect(error.error?.message).toContain('the API binds 0.0.0.0, which is not loopback');
    expect(error.error?.hint).toContain('compozy auth create-key');
  }, 60_000);

  it('a non-loopback compozy dev with no key refuses before it starts Temporal or any other child, for --host and SERVER_HOST alike', async () => {
    const dir = copyFixture('engine-api');
    const bin = tempDir('auth-dev-bin');
    const calls = join(bin, 'calls');
    const temporalBin = writeScript(bin, 'temporal', `echo "$@" >> ${calls}\necho "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"`);
    for (const [args, env] of [[['--host', '0.0.0.0'], {}], [[], { SERVER_HOST: '0.0.0.0' }]] as const) {
      const dev = await runCli(['dev', dir, ...args, '--port', '0', '--temporal-bin', temporalBin, '--json'], { ...noLogin, ...env });
      expect(dev.code, dev.stderr).toBe(2);
      const error = JSON.parse(dev.stdout.trim().split('\n').at(-1) as string) as { error?: { code: string; message: string; hint: string } };
      expect(error.error?.code).toBe('CONFIG_INVALID');
      expect(error.error?.message).toContain('the API binds 0.0.0.0, which is not loopback');
      expect(error.error?.hint).toContain('compozy auth create-key');
      expect(existsSync(calls)).toBe(false);
      expect(existsSync(join(dir, '.compozy', 'run.json'))).toBe(false);
    }
    // With a key, the same command goes on to the Temporal CLI.
    await createKey(dir, 'read');
    const dev = new DevProcess([dir, '--host', '0.0.0.0', '--port', '0', '--temporal-bin', temporalBin], noLogin);
    devs.push(dev);
    const deadline = Date.now() + 30_000;
    while (!existsSync(calls) && dev.child.exitCode === null && Date.now() < deadline) await sleep(50);
    expect(existsSync(calls), dev.stderr).toBe(true);
  }, 60_000);

  it('with keys: 401 without one, 403 for a read key starting an execution, an execute key runs it, and a revoked key fails exactly like an unknown one', async () => {
    const dir = copyFixture('engine-api');
    const read = await createKey(dir, 'read');
    const execute = await createKey(dir, 'execute');
    const doomed = await createKey(dir, 'execute');
    const serve = new CliProcess(['serve', dir, '--host', '0.0.0.0', '--port', '0', '--temporal-address', temporal.address, '--json'], noLogin);
    procs.push(serve);
    const base = `http://127.0.0.1:${await listening(serve)}`;
    await serve.waitForOutput('worker polling task queue');

    expect((await call(`${base}/healthz`)).status).toBe(200);
    expect((await call(`${base}/readyz`)).status).toBe(200);
    const anonymous = await startNap(base);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(anonymous.body.error?.code).toBe('UNAUTHORIZED');
    const forbidden = await startNap(base, read.key);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error?.code).toBe('FORBIDDEN');

    const started = await startNap(base, execute.key);
    expect(started.status).toBe(202);
    const execId = String(started.body.data?.exec_id);
    let status = '';
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== 'SUCCESS'; await sleep(100)) {
      status = String((await call(`${base}/api/v0/executions/workflows/${execId}`, read.key)).body.data?.status);
    }
    expect(status).toBe('SUCCESS');

    expect((await startNap(base, doomed.key)).status).toBe(202);
    const revoked = await runCli(['auth', 'revoke', doomed.id, dir], noLogin);
    expect(revoked.code, revoked.stderr).toBe(0);
    const afterRevoke = await startNap(base, doomed.key);
    const unknown = await startNap(base, doomed.key.replace(doomed.id, '0'.repeat(27)));
    expect(afterRevoke.status).toBe(401);
    expect(afterRevoke.text).toBe(unknown.text);

    const listed = JSON.parse((await runCli(['auth', 'list-keys', dir, '--json'], noLogin)).stdout) as Array<{ id: string; status: string; last_used_at: string | null }>;
    expect(listed.find((k) => k.id === execute.id)?.last_used_at).toEqual(expect.any(String));
    expect(listed.find((k) => k.id === doomed.id)?.status).toBe('revoked');
    expect(serve.output).not.toContain(execute.key);
  }, 90_000);

  it('compozy dev honours SERVER_HOST, and compozy run and status work against it with COMPOZY_API_KEY (and fail without)', async () => {
    const dir = copyFixture('engine-api');
    const { key } = await createKey(dir, 'execute');
    const dev = new DevProcess([dir, '--port', '0'], { ...noLogin, SERVER_HOST: '0.0.0.0', COMPOZY_API_KEY: key });
    devs.push(dev);
    const ready = await dev.waitFor('ready', 1, 90_000);
    expect(String(ready.apiUrl)).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect((ready.health as { components: unknown[] }).components.length).toBeGreaterThan(0);
    expect((await call(`${String(ready.apiUrl).replace('0.0.0.0', '127.0.0.1')}/api/v0/workflows`)).status).toBe(401);

    const run = await runCli(['run', 'nap', dir, '--input', '{"n":3}', '--json'], { ...noLogin, COMPOZY_API_KEY: key });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('Using the running compozy dev');
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCESS', output: { n: 3 } });

    const refused = await runCli(['run', 'nap', dir, '--input', '{"n":3}', '--json'], noLogin);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout.trim().split('\n').at(-1) as string)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });

    const keyless = await runCli(['status', dir, '--json'], noLogin);
    expect(keyless.code).toBe(1);
    expect(JSON.parse(keyless.stdout)).toMatchObject({ error: { code: 'UNAUTHORIZED', hint: expect.stringContaining('compozy auth login') } });
    const status = await runCli(['status', dir, '--json'], { ...noLogin, COMPOZY_API_KEY: key });
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { components: unknown[] }).components.length).toBeGreaterThan(0);
  }, 150_000);
});

const limited = (requests: number, extra = '') => (dir: string) => appendFileSync(join(dir, 'compozy.yaml'), `${extra}server:\n  rate_limit:\n    requests: ${requests}\n    period: 1h\n`);

function expectRefused(answer: Awaited<ReturnType<typeof call>>, max: number): void {
  expect(answer.status).toBe(429);
  expect(answer.body.error?.code).toBe('RATE_LIMITED');
  expect(answer.headers.get('ratelimit-limit')).toBe(String(max));
  expect(answer.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
}

describe('rate limits end to end', () => {
  it('two serve processes on one SQLite KV share one budget: the N+1th request gets 429 with the headers', async () => {
    const dir = copyFixture('engine-api');
    limited(4)(dir);
    const a = new CliProcess(['serve', dir, '--port', '0', '--temporal-address', temporal.address, '--json'], noLogin);
    const b = new CliProcess(['serve', dir, '--port', '0', '--temporal-address', temporal.address, '--json'], noLogin);
    procs.push(a, b);
    const [portA, portB] = await Promise.all([listening(a), listening(b)]);
    expect(portA).not.toBe(portB);
    const at = (port: number) => call(`http://127.0.0.1:${port}/api/v0/workflows`);
    const answers = [await at(portA), await at(portB), await at(portA), await at(portB)];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['3', '2', '1', '0']);
    expectRefused(await at(portA), 4);
    expectRefused(await at(portB), 4);
    expect((await call(`http://127.0.0.1:${portA}/healthz`)).status).toBe(200);
  }, 90_000);

});

await withServices([['Redis', REDIS_URL, 6379], ['PostgreSQL', DATABASE_URL, 5432]], () => {
  describe('rate limits on Redis end to end', () => {
    it('two compozy start on one Redis share one budget per API key', async () => {
      const dir = copyFixture('engine-api');
      const name = `auth-e2e-${process.pid}-${Date.now()}`;
      writeFileSync(join(dir, 'compozy.yaml'), readFileSync(join(dir, 'compozy.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${name}`));
      limited(3, 'auth:\n  enabled: true\n')(dir);
      const env = { ...noLogin, TEMPORAL_ADDRESS: temporal.address, REDIS_URL, DATABASE_URL, TEMPORAL_TASK_QUEUE: name };
      const { key } = await createKey(dir, 'read', env, 'distributed');
      const [portA, portB] = [await freePort(), await freePort()];
      const a = new CliProcess(['start', dir, '--port', String(portA)], env);
      procs.push(a);
      await a.waitForOutput('api listening');
      const b = new CliProcess(['start', dir, '--port', String(portB)], env);
      procs.push(b);
      await b.waitForOutput('api listening');
      const at = (port: number) => call(`http://127.0.0.1:${port}/api/v0/workflows`, key);
      expect([(await at(portA)).status, (await at(portB)).status, (await at(portA)).status]).toEqual([200, 200, 200]);
      expectRefused(await at(portB), 3);
      expectRefused(await at(portA), 3);
    }, 90_000);
  });
});
