import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { commandLineOf, isPidAlive } from '../../src/platform/pids.js';
import { ToolRuntime } from '../../src/tools/runtime.js';
import { killQuietly, REPO, waitUntilDead } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';

const runtimes: ToolRuntime[] = [];
const strays: number[] = [];

function runtime(projectDir: string, entrypoint: string, options: Partial<ConstructorParameters<typeof ToolRuntime>[0]> = {}): ToolRuntime {
  const rt = new ToolRuntime({ projectDir, entrypoint, poolSize: 1, watchIntervalMs: 100, ...options });
  runtimes.push(rt);
  return rt;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
  strays.splice(0).forEach(killQuietly);
});

async function failure(promise: Promise<unknown>): Promise<CompozyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CompozyError)) throw new Error(`expected a CompozyError, got ${String(error)}`);
  return error;
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Pids of live processes whose command line has every one of these parts. */
function processesWith(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const line = commandLineOf(pid)?.join(' ');
      return line !== undefined && parts.every((part) => line.includes(part));
    });
}

const SPIN = `import { writeFileSync } from 'node:fs';
export function spin() {
  process.on('SIGTERM', () => undefined);
  writeFileSync(\`spinning-\${process.pid}\`, '');
  for (;;) {}
}
`;

describe('tool entrypoint failures', () => {
  it('an entrypoint that throws at import is down with the cause and its line, and reloads when the file changes', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': `export const ok = () => 1;\nthrow new Error('no config at import');\n` });
    const rt = runtime(dir, './entrypoint.mjs');
    const error = await failure(rt.run({ id: 'ok' }, {}));
    expect(error.code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(error.message).toContain('Error: no config at import');
    expect(error.message).toContain(`${join(dir, 'entrypoint.mjs')}:2:7`);
    expect(rt.status()).toMatchObject({ state: 'down', error: { code: 'TOOL_ENTRYPOINT_FAILED' } });
    // Every further call fails at once, without starting a process.
    const [pid] = rt.pids();
    expect((await failure(rt.run({ id: 'ok' }, {}))).code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(rt.pids()).toEqual([pid]);

    writeFileSync(join(dir, 'entrypoint.mjs'), `export const ok = () => ({ fixed: true });\n`);
    await until('the reload', () => rt.status().state === 'up');
    expect(rt.status().tools).toEqual(['ok']);
    expect(await rt.run({ id: 'ok' }, {})).toEqual({ fixed: true });
  });

  it('a syntax error names its line, in JavaScript and in TypeScript', async () => {
    const dir = writeFiles({
      'broken.mjs': `export function a() {\n  return 1;\n}\nconst = 2;\n`,
      'broken.ts': `const a: number = 1;\nexport default {\n  b: () => ({ a },\n};\n`,
    });
    const js = await failure(runtime(dir, './broken.mjs').tools());
    expect(js.code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(js.message).toContain('SyntaxError');
    expect(js.message).toContain(`${join(dir, 'broken.mjs')}:4`);
    const ts = await failure(runtime(dir, './broken.ts').tools());
    expect(ts.message).toContain('SyntaxError');
    expect(ts.message).toMatch(new RegExp(`${join(dir, 'broken.ts').replaceAll('.', '\\.')}:[34]\\b`));
  });

  it('ES module syntax in a "type": "commonjs" package says so, and fixing package.json reloads the pool', async () => {
    const dir = writeFiles({ 'package.json': '{ "name": "demo", "type": "commonjs" }\n', 'entrypoint.ts': `export default { greet: (input: { name: string }) => ({ greeting: \`hello \${input.name}\` }) };\n` });
    const rt = runtime(dir, './entrypoint.ts');
    const error = await failure(rt.run({ id: 'greet' }, { name: 'Ada' }));
    expect(error.code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(error.message).toContain(`${join(dir, 'package.json')} says "type": "commonjs"`);
    expect(error.hint).toContain('Set "type": "module"');
    writeFileSync(join(dir, 'package.json'), '{ "name": "demo", "type": "module" }\n');
    await until('the reload', () => rt.status().state === 'up');
    expect(await rt.run({ id: 'greet' }, { name: 'Ada' })).toEqual({ greeting: 'hello Ada' });
  });

  it('a missing entrypoint is down until the file appears', async () => {
    const dir = writeFiles({ 'compozy.yaml': 'name: x\n' });
    const rt = runtime(dir, './entrypoint.ts');
    const error = await failure(rt.run({ id: 'greet' }, {}));
    expect(error.code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect(error.message).toContain(`${join(dir, 'entrypoint.ts')}: the file does not exist`);
    expect(rt.pids()).toEqual([]);
    writeFileSync(join(dir, 'entrypoint.ts'), `export const greet = () => ({ hi: 1 });\n`);
    await until('the entrypoint to load', () => rt.status().state === 'up');
    expect(await rt.run({ id: 'greet' }, {})).toEqual({ hi: 1 });
  });

  it('a call in progress during a reload finishes on its old process', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': `export const slow = async () => { await new Promise((r) => setTimeout(r, 1500)); return { v: 1 }; };\n` });
    const rt = runtime(dir, './entrypoint.mjs');
    await rt.tools();
    const running = rt.run({ id: 'slow' }, {});
    await sleep(200);
    writeFileSync(join(dir, 'entrypoint.mjs'), `export const slow = async () => ({ v: 2 });\n`);
    expect(await running).toEqual({ v: 1 });
    await until('the reload', () => rt.status().state === 'up' && rt.status().tools !== undefined);
    expect(await rt.run({ id: 'slow' }, {})).toEqual({ v: 2 });
  });
});

describe('tool output', () => {
  it("a tool's last line without a newline reaches the log, whether the process stays or exits", async () => {
    const dir = writeFiles({
      'entrypoint.mjs': `export const say = () => { process.stdout.write('first\\nlast words'); return { ok: true }; };\nexport const die = () => { process.stderr.write('dying words'); process.exit(4); };\n`,
    });
    const lines: string[] = [];
    const rt = runtime(dir, './entrypoint.mjs', { onOutput: (line, stream) => lines.push(`${stream}: ${line}`) });
    expect(await rt.run({ id: 'say' }, {})).toEqual({ ok: true });
    await until('the last line', () => lines.includes('stdout: last words'));
    expect(lines).toEqual(['stdout: first', 'stdout: last words']);
    expect((await failure(rt.run({ id: 'die' }, {}))).code).toBe('TOOL_CRASHED');
    await until('the dying words', () => lines.includes('stderr: dying words'));
  });
});

describe('tool input', () => {
  it('an input the process channel cannot serialize fails its call with TOOL_INPUT_INVALID and the pool keeps serving', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': 'export const echo = (input) => ({ got: typeof input });\n' });
    const rt = runtime(dir, './entrypoint.mjs');
    let deep: unknown = 'leaf';
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    const error = await failure(rt.run({ id: 'echo' }, deep));
    expect(error.code).toBe('TOOL_INPUT_INVALID');
    expect(error.message).toContain('"echo"');
    expect(await rt.run({ id: 'echo' }, { a: 1 })).toEqual({ got: 'object' });
  });
});

/** A separate process that owns a pool whose one tool spins; the tool's pid and the pool's watchdog pid. */
async function spinningOwner(dir: string): Promise<{ owner: ChildProcess; pid: number; watchdog: number }> {
  const owner = spawn(
    process.execPath,
    ['--input-type=module', '-e', `import { ToolRuntime } from ${JSON.stringify(join(REPO, 'dist', 'tools', 'runtime.js'))};
const rt = new ToolRuntime({ projectDir: ${JSON.stringify(dir)}, entrypoint: './entrypoint.mjs', poolSize: 1 });
console.log(JSON.stringify({ watchdog: rt.watchdogPid() }));
rt.run({ id: 'spin', timeoutMs: 600000 }, {});`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  strays.push(owner.pid as number);
  let out = '';
  owner.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const pid = Number(await until('the spin', () => readdirSync(dir).find((f) => f.startsWith('spinning-'))?.slice('spinning-'.length)));
  const { watchdog } = JSON.parse(out) as { watchdog: number };
  strays.push(pid, watchdog);
  return { owner, pid, watchdog };
}

describe('tool processes never outlive their owner', () => {
  it('close() kills a tool spinning in a CPU loop that ignores SIGTERM, within its grace', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': SPIN });
    const rt = runtime(dir, './entrypoint.mjs');
    const call = rt.run({ id: 'spin', timeoutMs: 600_000 }, {});
    const pid = await until('the spin', () => readdirSync(dir).find((f) => f.startsWith('spinning-'))?.slice('spinning-'.length));
    strays.push(Number(pid));
    await rt.close(500);
    expect(isPidAlive(Number(pid))).toBe(false);
    const error = await failure(call);
    expect(error.code).toBe('TOOL_CRASHED');
    expect(error.message).toContain('the tool pool closed');
  });

  it('SIGKILL of the process that owns the pool kills its spinning tool and the watchdog', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': SPIN });
    const { owner, pid, watchdog } = await spinningOwner(dir);
    // The watchdog's command line names the worker and the entrypoint too.
    expect(processesWith('worker-main.js', dir).sort()).toEqual([pid, watchdog].sort());
    owner.kill('SIGKILL');
    expect(await waitUntilDead([pid, watchdog], 10_000)).toEqual([]);
    expect(processesWith('worker-main.js', dir)).toEqual([]);
  });

  it.runIf(existsSync('/usr/bin/setpriv'))('pdeathsig alone (the watchdog killed first) kills the spinning tool when its owner is SIGKILLed', async () => {
    const dir = writeFiles({ 'entrypoint.mjs': SPIN });
    const { owner, pid, watchdog } = await spinningOwner(dir);
    process.kill(watchdog, 'SIGKILL');
    expect(await waitUntilDead([watchdog], 5000)).toEqual([]);
    expect(isPidAlive(pid)).toBe(true);
    owner.kill('SIGKILL');
    expect(await waitUntilDead([pid], 10_000)).toEqual([]);
  });

  it('the watchdog alone (no pdeathsig) kills the listed tool processes when its pipe closes, and only those', async () => {
    const marker = join(REPO, 'dist', 'tools', 'worker-main.js');
    const spinner = spawn(process.execPath, ['-e', 'for(;;){}', marker], { stdio: 'ignore' });
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    strays.push(spinner.pid as number, bystander.pid as number);
    const watchdog = spawn(process.execPath, [join(REPO, 'dist', 'tools', 'watchdog.js'), marker], { stdio: ['pipe', 'ignore', 'inherit'] });
    strays.push(watchdog.pid as number);
    watchdog.stdin.write(`+${spinner.pid}\n+${bystander.pid}\n`);
    await sleep(300);
    expect(isPidAlive(spinner.pid as number)).toBe(true);
    watchdog.stdin.end();
    expect(await waitUntilDead([spinner.pid as number, watchdog.pid as number], 10_000)).toEqual([]);
    expect(isPidAlive(bystander.pid as number)).toBe(true);
    expect(existsSync(marker)).toBe(true);
  });
});
