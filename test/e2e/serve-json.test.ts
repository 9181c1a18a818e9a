import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CliProcess, copyFixture, type JsonEvent } from '../helpers/cli.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
const procs: CliProcess[] = [];

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
}, 60_000);

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await temporal?.stop();
});

/** Every stdout line of a --json process, parsed; a line that is not JSON fails the test. */
function events(process: CliProcess): JsonEvent[] {
  return process.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as JsonEvent;
      } catch {
        throw new Error(`not JSON Lines: ${JSON.stringify(line)}\n${process.output}`);
      }
    });
}

async function waitForEvent(process: CliProcess, match: (event: JsonEvent) => boolean, timeoutMs = 45_000): Promise<JsonEvent> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = events(process).find(match);
    if (found) return found;
    if (process.child.exitCode !== null) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`no matching event in:\n${process.output}`);
}

describe('serve, start and worker --json', () => {
  it('serve --json: JSON Lines only, listening with the bound port, execution started/finished, exit', async () => {
    const serve = new CliProcess(['serve', copyFixture('engine-api'), '--port', '0', '--temporal-address', temporal.address, '--json']);
    procs.push(serve);
    const listening = await waitForEvent(serve, (e) => e.event === 'listening');
    expect(listening).toMatchObject({ host: '127.0.0.1', requestedPort: 0, pid: serve.child.pid });
    expect(listening.url).toBe(`http://127.0.0.1:${listening.port as number}`);
    await waitForEvent(serve, (e) => e.event === 'log' && String(e.message).startsWith('worker polling task queue'));
    const response = await fetch(`${String(listening.url)}/api/v0/workflows/nap/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { n: 1 } }) });
    const execId = ((await response.json()) as { data: { exec_id: string } }).data.exec_id;
    await waitForEvent(serve, (e) => e.event === 'execution-started' && e.execId === execId);
    const finished = await waitForEvent(serve, (e) => e.event === 'execution-finished' && e.execId === execId);
    expect(finished).toMatchObject({ workflow: 'nap', status: 'SUCCESS', durationMs: expect.any(Number) });
    expect(await serve.stop()).toBe(0);
    expect(events(serve).at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'received SIGTERM' });
  }, 60_000);

  it('start --json reports a busy requested port as one JSON error (exit 2)', async () => {
    const first = new CliProcess(['serve', copyFixture('engine-api'), '--port', '0', '--temporal-address', temporal.address, '--json']);
    procs.push(first);
    const { port } = await waitForEvent(first, (e) => e.event === 'listening');
    const second = new CliProcess(['start', copyFixture('engine-api'), '--mode', 'standalone', '--port', String(port), '--temporal-address', temporal.address, '--json']);
    procs.push(second);
    expect(await second.exited).toBe(2);
    expect(events(second).at(-1)).toMatchObject({ error: { code: 'PORT_IN_USE', message: expect.stringContaining(`Port ${String(port)} is already in use`) } });
  }, 60_000);

  it('worker --json: JSON Lines only, from polling to exit', async () => {
    const worker = new CliProcess(['worker', copyFixture('engine-api'), '--mode', 'standalone', '--temporal-address', temporal.address, '--json']);
    procs.push(worker);
    await waitForEvent(worker, (e) => e.event === 'log' && String(e.message).startsWith('worker polling task queue'));
    expect(await worker.stop()).toBe(0);
    expect(events(worker).at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'received SIGTERM' });
  }, 60_000);
});

describe('the dashboard outside compozy dev', () => {
  it('start --dashboard serves it at / beside the API; serve without the flag answers / with 404', async () => {
    const start = new CliProcess(['start', copyFixture('engine-api'), '--mode', 'standalone', '--port', '0', '--temporal-address', temporal.address, '--dashboard', '--json']);
    procs.push(start);
    const { url } = await waitForEvent(start, (e) => e.event === 'listening');
    const page = await fetch(`${String(url)}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const script = /<script[^>]+src="([^"]+)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(new URL(script as string, `${String(url)}/`));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${String(url)}/api/v0/workflows`)).status).toBe(200);

    const serve = new CliProcess(['serve', copyFixture('engine-api'), '--port', '0', '--temporal-address', temporal.address, '--json']);
    procs.push(serve);
    const plain = await waitForEvent(serve, (e) => e.event === 'listening');
    expect((await fetch(`${String(plain.url)}/`)).status).toBe(404);
    expect((await fetch(`${String(plain.url)}/api/v0/workflows`)).status).toBe(200);
  }, 90_000);
});
