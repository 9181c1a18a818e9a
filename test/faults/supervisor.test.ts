import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { freePort, isPortFree } from '../../src/platform/ports.js';
import { readRunState } from '../../src/platform/run-state.js';
import { childSpawner, type RunningChild } from '../../src/supervisor/child-process.js';
import { LogMux } from '../../src/supervisor/log-mux.js';
import { readServeHealth, waitForOwnServer, waitForServeReport } from '../../src/supervisor/serve-readiness.js';
import { serveFailureReport, writeServeReport } from '../../src/supervisor/serve-report.js';
import { CompozyError } from '../../src/errors.js';
import { formatSdkEntry } from '../../src/temporal/worker.js';
import { BIN, CliProcess, copyFixture, DevProcess, killQuietly, REPO, runCli, stopDevProcesses, waitUntilDead, type JsonEvent } from '../helpers/cli.js';
import { recordRun } from '../helpers/files.js';
import { portRacingTemporal, tempDir } from '../helpers/fake-bin.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const devs: DevProcess[] = [];
const processes: CliProcess[] = [];
const strays: number[] = [];
const servers: (Server | HttpServer)[] = [];

afterEach(async () => {
  await stopDevProcesses(devs);
  for (const cli of processes.splice(0)) await cli.stop();
  strays.splice(0).forEach(killQuietly);
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

/** An HTTP server that answers 200 on /readyz with whatever body it is given: another project's server, or a decoy. */
async function decoy(body: Record<string, unknown>, port = 0): Promise<number | undefined> {
  const server = createHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  const bound = await new Promise<boolean>((done) => {
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => done(true));
  });
  if (!bound) return undefined;
  servers.push(server);
  return (server.address() as { port: number }).port;
}

/** A log file's text once it contains `text` (log files are written asynchronously), or as it is after 10 s. */
async function fileOnceItHas(path: string, text: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (!readFileSync(path, 'utf8').includes(text) && Date.now() < deadline) await sleep(100);
  return readFileSync(path, 'utf8');
}

function pidsOf(health: HealthReport): { temporal: number; serve: number } {
  const temporal = health.components.find((c) => c.name === 'temporal')?.pid;
  const serve = health.components.find((c) => c.name === 'api')?.pid;
  if (temporal === undefined || serve === undefined) throw new Error(`no pids in ${JSON.stringify(health)}`);
  return { temporal, serve };
}

/** JSON Lines events read from a stream as they arrive. */
function collectEvents(stream: NodeJS.ReadableStream): JsonEvent[] {
  const events: JsonEvent[] = [];
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (buffer + chunk.toString()).split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        events.push(JSON.parse(line) as JsonEvent);
      } catch {
        // log lines
      }
    }
  });
  return events;
}

async function waitForEvent(events: JsonEvent[], kind: string, child: ChildProcessWithoutNullStreams, timeoutMs = 45_000): Promise<JsonEvent> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = events.find((e) => e.event === kind);
    if (found) return found;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`no "${kind}" event: ${JSON.stringify(events)}`);
}

describe('readiness identity', () => {
  it('does not take a 200 on /readyz from another process for its own server', async () => {
    const url = `http://127.0.0.1:${await decoy({ status: 'ready' })}`;
    await expect(waitForOwnServer(url, { pid: 4242, nonce: 'run-nonce' }, 1000, new AbortController().signal)).rejects.toThrow(
      `is answered by another process, not by the serve this run started (pid 4242)`,
    );
  });

  it('does not take another compozy serve (its own pid and nonce) for its own', async () => {
    const url = `http://127.0.0.1:${await decoy({ status: 'ready', pid: 777, nonce: 'another-run' })}`;
    await expect(waitForOwnServer(url, { pid: 4242, nonce: 'run-nonce' }, 1000, new AbortController().signal)).rejects.toThrow('(pid 777)');
  });

  it('reports the reason serve wrote even when its exit is seen first', async () => {
    const reportPath = join(tempDir('compozy-report-'), 'serve-report.json');
    const failure = new CompozyError('KV_UNAVAILABLE', 'Redis at redis://127.0.0.1:1 is not reachable: connect ECONNREFUSED.');
    writeServeReport(reportPath, serveFailureReport(4242, 'run-nonce', failure));
    const exited = new AbortController();
    exited.abort(new CompozyError('PROCESS_START_FAILED', 'serve exited during start-up (code 1).'));
    await expect(waitForServeReport(reportPath, { pid: 4242, nonce: 'run-nonce' }, 1000, exited.signal)).rejects.toThrow('Redis at redis://127.0.0.1:1 is not reachable');
  });

  it('reads a health route that does not answer in time as a report saying so, with the api row degraded', async () => {
    const server = createHttpServer(() => undefined);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const read = await readServeHealth(url, { mode: 'standalone', project: 'p' }, 300);
    expect(read.unread).toBe(`could not read ${url}/api/v0/health: no answer within 300 ms`);
    expect(read.health).toEqual({ mode: 'standalone', project: 'p', status: 'degraded', components: [{ name: 'api', backend: 'fastify', state: 'degraded', address: url, detail: read.unread }] });
    server.closeAllConnections();
  });

  it('accepts the server that answers with its pid and the run nonce', async () => {
    const url = `http://127.0.0.1:${await decoy({ status: 'ready', pid: 4242, nonce: 'run-nonce' })}`;
    await expect(waitForOwnServer(url, { pid: 4242, nonce: 'run-nonce' }, 5000, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('with a decoy answering 200 on /readyz at the default port, dev binds the next port, says so and prints its own URL', async () => {
    // The decoy takes 5001 when it can; when something else already holds 5001 the fallback is the same.
    await decoy({ status: 'ready' }, 5001);
    expect(await isPortFree(5001)).toBe(false);
    const dev = new CliProcess(['dev', copyFixture('minimal')], env);
    processes.push(dev);
    await dev.waitForOutput('Ctrl-C to stop', 45_000);
    const apiLine = /^ {2}API {8}(http:\/\/127\.0\.0\.1:(\d+))$/m.exec(dev.output);
    expect(apiLine).not.toBeNull();
    const [, url, port] = apiLine as RegExpExecArray;
    expect(Number(port)).toBeGreaterThan(5001);
    expect(dev.output).toContain(`! Port 5001 is in use, so the API is on port ${port}: use ${url}`);
    const state = readRunState(join(dev.child.spawnargs.at(-1) as string, '.compozy'));
    expect(state?.apiUrl).toBe(url);
    const readyz = (await (await fetch(`${url}/readyz`)).json()) as { pid: number; nonce: string };
    expect(readyz.pid).toBe(state?.children.serve?.pid);
    expect(typeof readyz.nonce).toBe('string');
  });
});

describe('compozy run next to a dev that is not there', () => {
  it('does not take a decoy on the recorded API URL for the running dev: it starts its own platform', async () => {
    const project = copyFixture('engine-api');
    const port = await decoy({ status: 'ready' });
    recordRun(project, 'engine-api', {
      supervisorPid: process.pid,
      apiUrl: `http://127.0.0.1:${port}`,
      children: { serve: { pid: 999_999, state: 'up', restarts: 0, logFile: '/dev/null', signature: ['compozy-not-running'] } },
    });
    const result = await runCli(['run', 'nap', project, '--input', '{"n":1}', '--port', '0'], env);
    expect(result.stderr).not.toContain('Using the running compozy dev');
    expect(result.code).toBe(0);
  }, 60_000);
});

describe('ports after a killed run', () => {
  it('reaps the orphan holding the requested port first, then binds that port', async () => {
    const project = copyFixture('minimal');
    const port = await freePort();
    const orphan = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`, 'compozy-orphan-serve'], { detached: true, stdio: 'ignore' });
    strays.push(orphan.pid as number);
    const deadline = Date.now() + 10_000;
    while ((await isPortFree(port)) && Date.now() < deadline) await sleep(50);
    const deadSupervisor = spawn('true');
    await new Promise((done) => deadSupervisor.on('close', done));
    recordRun(project, 'minimal', {
      supervisorPid: deadSupervisor.pid as number,
      apiUrl: `http://127.0.0.1:${port}`,
      children: { serve: { pid: orphan.pid, state: 'up', restarts: 0, logFile: '/dev/null', signature: ['compozy-orphan-serve'] } },
    });
    const dev = new DevProcess([project, '--port', String(port)], env);
    devs.push(dev);
    const ready = await dev.waitFor('ready');
    expect(ready.apiUrl).toBe(`http://127.0.0.1:${port}`);
    expect(await waitUntilDead([orphan.pid as number], 1000)).toEqual([]);
  });
});

describe('the Temporal port', () => {
  it('is chosen again when another process takes it before Temporal binds', async () => {
    const dir = tempDir('racy-temporal');
    const racy = portRacingTemporal(dir, inject('temporalBin'));
    const project = copyFixture('minimal');
    const dev = new DevProcess([project, '--port', '0'], { ...env, COMPOZY_TEMPORAL_BIN: racy });
    devs.push(dev);
    const starting = await dev.waitFor('starting');
    const ready = await dev.waitFor('ready');
    expect(ready.temporalAddress).not.toBe(starting.temporalAddress);
    expect((ready.health as HealthReport).status).toBe('up');
    expect(readFileSync(join(project, '.compozy', 'logs', 'temporal.log'), 'utf8')).toContain(`its port was taken; starting again on ${String(ready.temporalAddress)}`);
  }, 60_000);
});

describe('the Temporal SDK in our log', () => {
  const failed = { level: 'WARN' as const, message: 'Activity failed', timestampNanos: 0n, meta: { taskToken: 'AAEC', attempt: 2, error: new Error('boom'), activityType: 'executeTask' } };

  it('drops the per-attempt "Activity failed" dump (the engine reports the attempt itself) unless verbose', () => {
    expect(formatSdkEntry(failed, false)).toBeUndefined();
  });

  it('prints one line per entry, never the task token or objects', () => {
    expect(formatSdkEntry(failed, true)).toBe('temporal warn: Activity failed attempt=2 error="boom" activityType="executeTask"');
    expect(formatSdkEntry({ level: 'ERROR', message: 'Worker failed', timestampNanos: 0n, meta: { error: new Error('lost'), nested: { a: 1 } } }, false)).toBe('temporal error: Worker failed error="lost"');
  });
});

describe('the supervisor without its parent', () => {
  it('stops its children and exits when the shell that started it is killed', async () => {
    const project = copyFixture('minimal');
    const shell = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" dev "${project}" --port 0 --json; echo "dev exited"`], { env: { ...process.env, ...env } });
    const events = collectEvents(shell.stdout);
    shell.stderr.resume();
    const ready = await waitForEvent(events, 'ready', shell);
    const supervisorPid = readRunState(join(project, '.compozy'))?.supervisorPid as number;
    const { temporal, serve } = pidsOf(ready.health as HealthReport);
    strays.push(supervisorPid, temporal, serve);
    shell.kill('SIGKILL');
    expect(await waitUntilDead([supervisorPid, temporal, serve], 20_000)).toEqual([]);
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: expect.stringMatching(/^parent process \d+ exited$/) });
  }, 60_000);

  it('leaves nothing running when a process manager sends SIGTERM to `npx compozy dev`', async () => {
    const install = tempDir('npx');
    mkdirSync(join(install, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(REPO, join(install, 'node_modules', 'compozy'));
    symlinkSync('../compozy/bin/compozy', join(install, 'node_modules', '.bin', 'compozy'));
    writeFileSync(join(install, 'package.json'), JSON.stringify({ name: 'npx-user', version: '1.0.0', private: true }));
    const project = copyFixture('minimal');
    const npx = spawn('npx', ['--no-install', 'compozy', 'dev', project, '--port', '0', '--json'], { cwd: install, env: { ...process.env, ...env } });
    const events = collectEvents(npx.stdout);
    npx.stderr.resume();
    const ready = await waitForEvent(events, 'ready', npx);
    const supervisorPid = readRunState(join(project, '.compozy'))?.supervisorPid as number;
    const { temporal, serve } = pidsOf(ready.health as HealthReport);
    strays.push(supervisorPid, temporal, serve);
    npx.kill('SIGTERM');
    expect(await waitUntilDead([supervisorPid, temporal, serve], 20_000)).toEqual([]);
  }, 60_000);
});

describe('a corrupt Temporal database', () => {
  it('refuses an empty one naming the file, instead of starting a new history over it', async () => {
    const project = copyFixture('minimal');
    mkdirSync(join(project, '.compozy'), { recursive: true });
    const db = join(project, '.compozy', 'temporal-1.5.1.db');
    writeFileSync(db, '');
    const result = await runCli(['dev', project, '--port', '0'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`✗ The Temporal database ${db} is empty (0 bytes)`);
    expect(readFileSync(db)).toHaveLength(0);
  });

  it('names the file and the cause, shows no older log lines, and leaves the file as it was', async () => {
    const project = copyFixture('minimal');
    const state = join(project, '.compozy');
    mkdirSync(join(state, 'logs'), { recursive: true });
    const db = join(state, 'temporal-1.5.1.db');
    writeFileSync(db, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(8192, 0x5a)]));
    const before = createHash('sha256').update(readFileSync(db)).digest('hex');
    writeFileSync(join(state, 'logs', 'temporal.log'), Array.from({ length: 25 }, (_, i) => `{"level":"ERROR","msg":"older run ${i}"}`).join('\n') + '\n');
    const result = await runCli(['dev', project, '--port', '0'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`✗ The Temporal database ${db} is unreadable: file is not a database`);
    expect(result.stderr).toContain(`mv ${db} ${db}.corrupt`);
    expect(result.stdout + result.stderr).not.toContain('older run');
    expect(createHash('sha256').update(readFileSync(db)).digest('hex')).toBe(before);
  });
});

const STORY_PROJECT = {
  'compozy.yaml': `name: story
version: "0.1.0"
workflows:
  - source: ./greet.yaml
  - source: ./fails.yaml
runtime:
  type: node
  entrypoint: ./entrypoint.ts
`,
  'greet.yaml': `id: greet
config:
  input:
    type: object
    properties:
      name:
        type: string
    required: [name]
tools:
  - id: hello
tasks:
  - id: say
    tool: hello
    with:
      name: "{{ .workflow.input.name }}"
`,
  'fails.yaml': `id: fails
tools:
  - id: flaky
tasks:
  - id: call
    tool: flaky
    retries: 1
`,
  'entrypoint.ts': `export default {
  hello: async (input: { name: string }) => ({ greeting: \`hello \${input.name}\` }),
  flaky: async () => {
    throw new Error('upstream down');
  },
};
`,
  'package.json': '{ "type": "module" }\n',
};

describe('what the dev terminal says', () => {
  it('one line per execution started and ended and per failed attempt, no SDK dumps, and a curl that works as printed', async () => {
    const project = join(tempDir('story'), 'story');
    mkdirSync(project, { recursive: true });
    for (const [name, text] of Object.entries(STORY_PROJECT)) writeFileSync(join(project, name), text);
    const dev = new CliProcess(['dev', project, '--port', '0'], env);
    processes.push(dev);
    await dev.waitForOutput('Ctrl-C to stop', 45_000);
    const api = /^ {2}API {8}(\S+)$/m.exec(dev.output)?.[1] as string;
    const curl = /^ {2}Try it {5}(curl .+)$/m.exec(dev.output)?.[1] as string;
    expect(curl).toBe(`curl -s -X POST ${api}/api/v0/workflows/greet/executions -H 'content-type: application/json' -d '{"input":{"name":"<name>"}}'`);
    expect(dev.output).toContain(`  Logs       ${join(project, '.compozy', 'logs')}`);
    // The dashboard line sits between the curl and the logs, and its URL serves the dashboard.
    expect(dev.output).toMatch(new RegExp(`^ {2}Try it .+\\n {2}Dashboard {2}${api}/\\n {2}Logs `, 'm'));
    expect(await (await fetch(`${api}/`)).text()).toContain('<div id="app"></div>');

    const { stdout } = await promisify(execFile)('sh', ['-c', curl]);
    const greet = (JSON.parse(stdout) as { data: { exec_id: string } }).data.exec_id;
    const failing = await fetch(`${api}/api/v0/workflows/fails/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":{}}' });
    const fails = ((await failing.json()) as { data: { exec_id: string } }).data.exec_id;

    await dev.waitForOutput(`✔ greet ${greet} SUCCESS in `);
    await dev.waitForOutput(`✗ fails ${fails} FAILED in `);
    expect(dev.output).toContain(`▶ greet ${greet} started`);
    expect(dev.output).toContain(`▶ fails ${fails} started`);
    expect(dev.output).toContain(`✗ task call of fails ${fails}: TOOL_FAILED: Tool "flaky": upstream down (attempt 1/2, retrying)`);
    expect(dev.output).toContain(`✗ task call of fails ${fails}: TOOL_FAILED: Tool "flaky": upstream down (attempt 2/2)`);
    expect(dev.output.match(new RegExp(`✗ task call of fails ${fails}`, 'g'))).toHaveLength(2);
    expect(dev.output).not.toContain('taskToken');
    expect(dev.output).not.toContain('Activity failed');
    const serveLog = await fileOnceItHas(join(project, '.compozy', 'logs', 'serve.log'), `✔ greet ${greet} SUCCESS in `);
    expect(serveLog).toContain(`✔ greet ${greet} SUCCESS in `);
    expect(serveLog).not.toContain('taskToken');
  }, 60_000);
});

describe('dev --verbose', () => {
  it("passes serve the Temporal SDK's info lines, one line each with their scalar metadata", async () => {
    const project = copyFixture('minimal');
    const dev = new DevProcess([project, '--port', '0', '--verbose'], env);
    devs.push(dev);
    await dev.waitFor('ready');
    // The SDK forwards its logs in batches; the line arrives shortly after the worker runs.
    expect(await fileOnceItHas(join(project, '.compozy', 'logs', 'serve.log'), 'temporal info: Worker state changed taskQueue="compozy" state="RUNNING"')).toContain(
      'temporal info: Worker state changed taskQueue="compozy" state="RUNNING"',
    );
  }, 60_000);
});

/** Waits until `lines` has a line that includes `text`. */
async function lineWith(lines: string[], text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some((line) => line.includes(text)) && Date.now() < deadline) await sleep(20);
  if (!lines.some((line) => line.includes(text))) throw new Error(`no line with "${text}" in ${JSON.stringify(lines)}`);
}

describe('a supervised child', () => {
  const children: RunningChild[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill();
  });

  async function start(script: string, graceMs = 10_000): Promise<{ child: RunningChild; lines: string[] }> {
    const spawnChild = await childSpawner();
    const lines: string[] = [];
    const child = spawnChild({ name: 'test', command: 'sh', args: ['-c', script] }, { graceMs, onLine: (line) => lines.push(line) });
    children.push(child);
    strays.push(child.pid);
    return { child, lines };
  }

  it('hands on each line of its stdout and stderr, the last one without a newline too, before its exit settles', async () => {
    const { child, lines } = await start(`printf 'out 1\\nout 2'; printf 'err 1\\n' >&2; exit 3`);
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect([...lines].sort()).toEqual(['err 1', 'out 1', 'out 2']);
  });

  it('that cannot start exits 127 with the reason as its last line', async () => {
    const spawnChild = await childSpawner();
    const lines: string[] = [];
    const child = spawnChild({ name: 'missing', command: '/nonexistent/compozy-test-binary', args: [] }, { graceMs: 1000, onLine: (line) => lines.push(line) });
    expect(await child.exited).toEqual({ code: 127, signal: null });
    expect(lines.at(-1)).toMatch(/\/nonexistent\/compozy-test-binary.*(No such file or directory|ENOENT)/);
  });

  it('runs in its own process group and session under its own pid, so a Ctrl-C meant for the supervisor does not reach it', async () => {
    const { child, lines } = await start(`echo "ready $$"; exec sleep 30`);
    await lineWith(lines, 'ready');
    expect(lines[0]).toBe(`ready ${child.pid}`);
    const [, , , , pgrp, session] = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^\d+ \(.*\) /, '_ _ ').split(' ');
    expect([Number(pgrp), Number(session)]).toEqual([child.pid, child.pid]);
    expect(await child.stop()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('is stopped with TERM, and a child that ignores it is killed once the grace period has passed', async () => {
    const polite = await start(`trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`);
    await lineWith(polite.lines, 'ready');
    expect(await polite.child.stop()).toEqual({ code: 0, signal: null });
    expect(polite.lines).toContain('bye');

    const stubborn = await start(`trap '' TERM; echo ready; exec sleep 30`, 200);
    await lineWith(stubborn.lines, 'ready');
    expect(await stubborn.child.stop()).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('a terminal Ctrl-C', () => {
  it('reaches only the supervisor, which stops serve with TERM (the whole foreground process group gets SIGINT)', async () => {
    const project = copyFixture('minimal');
    // A terminal sends SIGINT to its foreground process group: dev gets one of its own, like a shell job.
    const dev = spawn(process.execPath, [BIN, 'dev', project, '--port', '0', '--json'], { env: { ...process.env, ...env }, detached: true });
    strays.push(dev.pid as number);
    const events = collectEvents(dev.stdout);
    dev.stderr.resume();
    const exited = new Promise<number | null>((done) => dev.on('close', done));
    const ready = await waitForEvent(events, 'ready', dev);
    const { temporal, serve } = pidsOf(ready.health as HealthReport);
    strays.push(temporal, serve);
    process.kill(-(dev.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'received SIGINT' });
    expect(await waitUntilDead([temporal, serve], 5000)).toEqual([]);
    const serveLog = readFileSync(join(project, '.compozy', 'logs', 'serve.log'), 'utf8');
    expect(serveLog).toContain('received SIGTERM; stopping');
    expect(serveLog).not.toContain('received SIGINT');
  }, 60_000);
});

describe('log files', () => {
  it('hold no terminal escape codes, while a colour terminal still gets them', async () => {
    const logDir = tempDir('logs');
    const out = new PassThrough();
    let shown = '';
    out.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    const mux = new LogMux({ names: ['serve'], color: true, out, logDir });
    mux.line('serve', '\u001b[31mred\u001b[39m and \u001b[1mbold\u001b[22m');
    mux.line('serve', 'second line without newline');
    await mux.close();
    expect(readFileSync(join(logDir, 'serve.log'), 'utf8')).toBe('red and bold\nsecond line without newline\n');
    expect(shown).toContain('\u001b[31mred\u001b[39m');
  });
});
