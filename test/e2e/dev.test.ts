import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { copyFixture, DevProcess, killQuietly, runCli, stopDevProcesses, waitUntilDead } from '../helpers/cli.js';
import { recordRun } from '../helpers/files.js';
import { tempDir, writeScript } from '../helpers/fake-bin.js';
import { DATABASE_URL, REDIS_URL } from '../helpers/services.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const started: DevProcess[] = [];
const strayPids: number[] = [];

function startDev(projectDir: string, extra: string[] = []): DevProcess {
  const dev = new DevProcess([projectDir, ...extra], env);
  started.push(dev);
  return dev;
}

function childPids(ready: Record<string, unknown>): { temporal: number; serve: number } {
  const health = ready.health as HealthReport;
  const temporal = health.components.find((c) => c.name === 'temporal')?.pid;
  const serve = health.components.find((c) => c.name === 'api')?.pid;
  if (temporal === undefined || serve === undefined) throw new Error(`no pids in ${JSON.stringify(health)}`);
  return { temporal, serve };
}

afterEach(async () => {
  await stopDevProcesses(started);
  strayPids.splice(0).forEach(killQuietly);
});


/** The pids of the processes whose command line names `text` (Temporal's names the project's database). */
function processesNaming(text: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}
describe('compozy dev', () => {
  it('reaches ready with every component up, runs a workflow on the in-process worker, and stops cleanly on SIGINT', async () => {
    const project = copyFixture('minimal');
    mkdirSync(join(project, 'workflows'));
    writeFileSync(join(project, 'workflows', 'hello.yaml'), 'id: hello\ntasks:\n  - id: greet\n    type: aggregate\n    outputs: { greeting: "hello {{ .workflow.input.name }}" }\noutputs: { greeting: "{{ .tasks.greet.output.greeting }}" }\n');
    writeFileSync(join(project, 'compozy.yaml'), `${readFileSync(join(project, 'compozy.yaml'), 'utf8')}workflows:\n  - source: ./workflows/hello.yaml\n`);
    const dev = startDev(project, ['--port', '0']);
    const starting = await dev.waitFor('starting');
    expect(starting).toMatchObject({ project: 'minimal', mode: 'persistent', components: ['temporal', 'serve'] });
    const ready = await dev.waitFor('ready');
    const health = ready.health as HealthReport;
    expect(health.status).toBe('up');
    expect(health.components.map((c) => [c.name, c.state])).toEqual([
      ['temporal', 'up'],
      ['api', 'up'],
      ['worker', 'up'],
      ['kv', 'up'],
      ['store', 'up'],
    ]);
    expect(health.components.find((c) => c.name === 'kv')?.path).toBe(join(project, '.compozy', 'kv.db'));
    expect(health.components.find((c) => c.name === 'store')).toMatchObject({ backend: 'sqlite', path: join(project, '.compozy', 'compozy.db'), detail: '0 executions' });
    expect(readdirSync(join(project, '.compozy')).filter((f) => /^temporal-.+\.db$/.test(f))).toHaveLength(1);
    const { temporal, serve } = childPids(ready);

    const started = (await (await fetch(`${ready.apiUrl as string}/api/v0/workflows/hello/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { name: 'Ada' } }) })).json()) as { data: { exec_id: string } };
    let execution: { status?: string; output?: unknown } = {};
    for (let i = 0; i < 100 && execution.status !== 'SUCCESS'; i++) {
      await new Promise((done) => setTimeout(done, 100));
      execution = ((await (await fetch(`${ready.apiUrl as string}/api/v0/executions/workflows/${started.data.exec_id}`)).json()) as { data: typeof execution }).data;
    }
    expect(execution).toMatchObject({ status: 'SUCCESS', output: { greeting: 'hello Ada' } });

    const status = await runCli(['status', project, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'up', supervisorPid: dev.pid });

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'received SIGINT' });
    expect(dev.nonJsonStdout.filter((line) => line.trim() !== '')).toEqual([]);
    expect([temporal, serve].filter(isPidAlive)).toEqual([]);
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
    expect(readFileSync(join(project, '.compozy', 'logs', 'serve.log'), 'utf8')).toContain('worker polling task queue');

    const after = await runCli(['status', project], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('compozy dev is not running for minimal');
  });

  it('leaves no child behind when the supervisor is SIGKILLed', async () => {
    const dev = startDev(copyFixture('minimal'), ['--port', '0']);
    const { temporal, serve } = childPids(await dev.waitFor('ready'));
    strayPids.push(temporal, serve);
    dev.child.kill('SIGKILL');
    await dev.exited;
    expect(await waitUntilDead([temporal, serve], 5000)).toEqual([]);
  });

  it('restarts a killed serve child and comes back to all up with restarts = 1', async () => {
    const dev = startDev(copyFixture('minimal'), ['--port', '0']);
    const first = await dev.waitFor('ready');
    const { serve } = childPids(first);
    process.kill(serve, 'SIGKILL');
    const restart = await dev.waitFor('restart');
    expect(restart).toMatchObject({ component: 'serve', restarts: 1, signal: 'SIGKILL' });
    const again = await dev.waitFor('ready', 2);
    expect(again.apiUrl).toBe(first.apiUrl);
    const health = again.health as HealthReport;
    expect(health.status).toBe('up');
    const api = health.components.find((c) => c.name === 'api');
    expect(api?.restarts).toBe(1);
    expect(api?.pid).not.toBe(serve);
    expect(health.components.find((c) => c.name === 'temporal')?.restarts).toBe(0);
  });

  it('gives up after 5 crashes within 60 s and exits 1 with the reason', async () => {
    const dev = startDev(copyFixture('minimal'), ['--port', '0']);
    for (let crash = 1; crash <= 5; crash++) {
      const { serve } = childPids(await dev.waitFor('ready', crash));
      process.kill(serve, 'SIGKILL');
      if (crash < 5) await dev.waitFor('restart', crash);
    }
    expect(await dev.exited).toBe(1);
    const exit = dev.events.at(-1);
    expect(exit).toMatchObject({ event: 'exit', code: 1 });
    expect(exit?.reason).toMatch(/^serve crashed 5 times within 60 s \(last exit: signal SIGKILL\); giving up\. Log: .*serve\.log$/);
    expect(dev.events.filter((e) => e.event === 'restart').map((e) => e.delayMs)).toEqual([500, 1000, 2000, 4000]);
  }, 90_000);

  it('when Temporal fails to start, exits 1 with its own error from this run, not lines of older runs', async () => {
    const broken = writeScript(
      tempDir('broken-temporal'),
      'temporal',
      `if [ "$1" = "--version" ]; then echo "temporal version 1.5.1 (Server 1.29.1)"; exit 0; fi
echo '{"level":"ERROR","msg":"failed starting server: unable to open database file: permission denied"}' >&2
exit 1`,
    );
    const project = copyFixture('minimal');
    mkdirSync(join(project, '.compozy', 'logs'), { recursive: true });
    writeFileSync(join(project, '.compozy', 'logs', 'temporal.log'), Array.from({ length: 30 }, (_, i) => `older run line ${i}`).join('\n') + '\n');
    const result = await runCli(['dev', project, '--port', '0'], { ...env, COMPOZY_TEMPORAL_BIN: broken });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('✗ The Temporal dev server failed to start: failed starting server: unable to open database file: permission denied');
    expect(result.stdout + result.stderr).not.toContain('older run line');
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
  });

  it('starts serve alongside Temporal: serve has loaded the project and listens before Temporal starts, and dev still reaches ready', async () => {
    const project = copyFixture('minimal');
    // This Temporal only starts once serve has reported its port: a dev that waited for Temporal before spawning serve never gets ready.
    const gated = writeScript(
      tempDir('gated-temporal'),
      'temporal',
      `if [ "$1" = "--version" ]; then exec "${inject('temporalBin')}" --version; fi
until ls "${join(project, '.compozy')}" 2>/dev/null | grep -q '^serve-report\\.'; do sleep 0.05; done
exec "${inject('temporalBin')}" "$@"`,
    );
    const dev = new DevProcess([project, '--port', '0'], { ...env, COMPOZY_TEMPORAL_BIN: gated });
    started.push(dev);
    const ready = await dev.waitFor('ready');
    const health = ready.health as HealthReport;
    expect(health.components.filter((c) => ['temporal', 'api', 'worker'].includes(c.name)).map((c) => [c.name, c.state])).toEqual([
      ['temporal', 'up'],
      ['api', 'up'],
      ['worker', 'up'],
    ]);
  }, 60_000);

  it('when Temporal never answers, exits 1 naming its address and the deadline, and leaves no process behind', async () => {
    const dir = tempDir('mute-temporal');
    const pidFile = join(dir, 'pid');
    const mute = writeScript(
      dir,
      'temporal',
      `if [ "$1" = "--version" ]; then echo "temporal version 1.5.1 (Server 1.29.1)"; exit 0; fi
echo $$ > "${pidFile}"
exec sleep 300`,
    );
    const project = copyFixture('minimal');
    const result = await runCli(['dev', project, '--port', '0'], { ...env, COMPOZY_TEMPORAL_BIN: mute });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ temporal failed to start: Temporal at 127\.0\.0\.1:\d+ did not become ready within 30 s \(nothing listening on 127\.0\.0\.1:\d+ \(its HTTP API\)\)\./);
    expect(await waitUntilDead([Number(readFileSync(pidFile, 'utf8'))], 5000)).toEqual([]);
    const left = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(project));
    expect(left).toEqual([]);
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
  }, 90_000);

  it('when a child exits during start-up without a typed cause, shows only the lines it printed in this run', async () => {
    const broken = writeScript(
      tempDir('silent-temporal'),
      'temporal',
      `if [ "$1" = "--version" ]; then echo "temporal version 1.5.1 (Server 1.29.1)"; exit 0; fi
echo "something odd happened" >&2
exit 3`,
    );
    const project = copyFixture('minimal');
    mkdirSync(join(project, '.compozy', 'logs'), { recursive: true });
    writeFileSync(join(project, '.compozy', 'logs', 'temporal.log'), 'older run line\n');
    const result = await runCli(['dev', project, '--port', '0'], { ...env, COMPOZY_TEMPORAL_BIN: broken });
    expect(result.code).toBe(1);
    const logFile = join(project, '.compozy', 'logs', 'temporal.log');
    expect(result.stdout).toContain('✗ temporal failed to start: temporal exited during start-up (code 3).');
    expect(result.stdout).toContain(`Last lines of ${logFile} from this run:\n    something odd happened`);
    expect(result.stdout + result.stderr).not.toContain('older run line');
  });

  it('runs the KV on Redis when kv.driver is redis (mixed mode), and says so in the health table', async () => {
    const dev = new DevProcess([copyFixture('minimal'), '--port', '0'], { ...env, COMPOZY_KV_DRIVER: 'redis', REDIS_URL });
    started.push(dev);
    const health = (await dev.waitFor('ready')).health as HealthReport;
    expect(health.status).toBe('up');
    expect(health.components.find((c) => c.name === 'kv')).toMatchObject({ backend: 'redis', state: 'up', address: expect.stringContaining('127.0.0.1:6379') });
  });

  it('--redis-mode distributed runs the KV on Redis; a value that is not a mode is refused naming the flag, before anything starts', async () => {
    const bad = await runCli(['dev', copyFixture('minimal'), '--port', '0', '--redis-mode', 'cluster'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--redis-mode must be "memory", "persistent" or "distributed", got "cluster"');
    const dev = new DevProcess([copyFixture('minimal'), '--port', '0', '--redis-mode', 'distributed'], { ...env, REDIS_URL });
    started.push(dev);
    const health = (await dev.waitFor('ready')).health as HealthReport;
    expect(health.components.find((c) => c.name === 'kv')).toMatchObject({ backend: 'redis', state: 'up' });
  });

  it('runs the store on PostgreSQL when database.driver is postgres', async () => {
    const dev = new DevProcess([copyFixture('minimal'), '--port', '0'], { ...env, COMPOZY_STORE_DRIVER: 'postgres', DATABASE_URL });
    started.push(dev);
    const health = (await dev.waitFor('ready')).health as HealthReport;
    expect(health.components.find((c) => c.name === 'store')).toMatchObject({ backend: 'postgres', state: 'up' });
  });

  it('never falls back to SQLite when the configured Redis is down: start-up fails naming the URL', async () => {
    const project = copyFixture('minimal');
    const result = await runCli(['dev', project, '--port', '0'], { ...env, COMPOZY_KV_DRIVER: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Redis at redis://127.0.0.1:1 is not reachable');
    expect(existsSync(join(project, '.compozy', 'kv.db'))).toBe(false);
  });

  it('exits 2 naming the port when an explicit --port is busy', async () => {
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    const port = (server.address() as { port: number }).port;
    try {
      const result = await runCli(['dev', copyFixture('minimal'), '--port', String(port)], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`Port ${port} is already in use by pid ${process.pid}`);
    } finally {
      server.close();
    }
  });

  it('reaps the orphans a killed run left in its state file, and only processes that match', async () => {
    const project = copyFixture('minimal');
    const orphan = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const unrelated = spawn('sleep', ['301'], { detached: true, stdio: 'ignore' });
    strayPids.push(orphan.pid as number, unrelated.pid as number);
    const deadSupervisor = spawn('true');
    await new Promise((done) => deadSupervisor.on('close', done));
    recordRun(project, 'minimal', {
      supervisorPid: deadSupervisor.pid as number,
      apiUrl: 'http://127.0.0.1:1',
      children: {
        temporal: { pid: orphan.pid, state: 'up', restarts: 0, logFile: '/dev/null', signature: ['sleep', '300'] },
        serve: { pid: unrelated.pid, state: 'up', restarts: 0, logFile: '/dev/null', signature: ['compozy', 'serve'] },
      },
    });
    const dev = startDev(project, ['--port', '0']);
    await dev.waitFor('ready');
    expect(await waitUntilDead([orphan.pid as number], 1000)).toEqual([]);
    expect(isPidAlive(unrelated.pid as number)).toBe(true);
  });

  it('refuses a project that does not validate, listing its problems once, as serve found them (exit 2), and leaves nothing running', async () => {
    const project = copyFixture('config-errors');
    const result = await runCli(['dev', project, '--port', '0'], env);
    expect(result.code).toBe(2);
    const output = result.stderr + result.stdout;
    expect(output.match(/has \d+ configuration problems?:/g)).toHaveLength(1);
    expect(output).toContain('workflows[1].source: Workflow file ./missing.yaml does not exist');
    expect(output).toContain('compozy config validate');
    expect(output).toMatch(/\[serve\] +✗ serve did not start \(CONFIG_INVALID\); the reason went to the compozy dev that started it/);
    expect(existsSync(join(project, '.compozy', 'run.json'))).toBe(false);
    expect(processesNaming(project)).toEqual([]);
  });

  it('refuses a second dev run of the same project', async () => {
    const project = copyFixture('minimal');
    const dev = startDev(project, ['--port', '0']);
    await dev.waitFor('ready');
    const second = await runCli(['dev', project, '--json'], env);
    expect(second.code).toBe(1);
    expect(JSON.parse(second.stdout).error).toMatchObject({ code: 'ALREADY_RUNNING' });
  });
});
