import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { checkToolEnv, permissionPlan } from '../../src/tools/sandbox.js';
import { ToolRuntime, type ToolDefinition } from '../../src/tools/runtime.js';
import { REPO, waitUntilDead } from '../helpers/cli.js';
import { errorCode } from '../helpers/errors.js';

const FIXTURES = join(REPO, 'test', 'fixtures', 'tools');
const runtimes: ToolRuntime[] = [];

function runtime(options: Partial<ConstructorParameters<typeof ToolRuntime>[0]> = {}): ToolRuntime {
  const rt = new ToolRuntime({ projectDir: FIXTURES, poolSize: 2, ...options });
  runtimes.push(rt);
  return rt;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});


const add: ToolDefinition = {
  id: 'add',
  inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
  outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
  config: { offset: 100 },
};

describe('tool runtime', () => {
  it('runs a TypeScript entrypoint directly, passing (input, config)', async () => {
    const rt = runtime();
    expect(await rt.tools()).toEqual(['add', 'big', 'crash', 'echo', 'env', 'fails', 'noisy', 'primitive', 'slow', 'write']);
    expect(await rt.run(add, { a: 1, b: 2 })).toEqual({ sum: 103 });
  });

  it('runs a JavaScript entrypoint with named exports', async () => {
    const rt = runtime({ projectDir: join(FIXTURES, 'js'), entrypoint: './entrypoint.js' });
    expect(await rt.run({ id: 'greet' }, { name: 'Ada' })).toEqual({ greeting: 'hello Ada' });
    expect(await rt.run({ id: 'weather_tool' }, { city: 'Lisbon' })).toMatchObject({ city: 'Lisbon', weather: 'Clear sky' });
  });

  it('wraps a primitive result as {value}', async () => {
    expect(await runtime().run({ id: 'primitive' }, {})).toEqual({ value: 42 });
  });

  it('validates input before the call and the result after it', async () => {
    const rt = runtime();
    expect(await errorCode(rt.run(add, { a: 1 }))).toBe('TOOL_INPUT_INVALID');
    const wrongOutput: ToolDefinition = { id: 'echo', outputSchema: { type: 'object', required: ['missing'] } };
    expect(await errorCode(rt.run(wrongOutput, {}))).toBe('TOOL_OUTPUT_INVALID');
  });

  it('a tool that throws fails with its message; an unknown tool is named', async () => {
    const rt = runtime();
    const failed = await rt.run({ id: 'fails' }, {}).catch((e: unknown) => e);
    expect((failed as CompozyError).code).toBe('TOOL_FAILED');
    expect((failed as CompozyError).message).toContain('weather service said no');
    const unknown = await rt.run({ id: 'nope' }, {}).catch((e: unknown) => e);
    expect((unknown as CompozyError).code).toBe('TOOL_NOT_FOUND');
    expect((unknown as CompozyError).message).toContain('(it has: add, big, crash');
  });

  it('a timeout kills the process and the pool heals', async () => {
    const rt = runtime({ poolSize: 1 });
    const [before] = rt.pids();
    expect(await errorCode(rt.run({ id: 'slow', timeoutMs: 200 }, { ms: 10_000 }))).toBe('TOOL_TIMEOUT');
    expect(await waitUntilDead([before as number], 5000)).toEqual([]);
    expect(await rt.run({ id: 'slow' }, { ms: 1 })).toEqual({ slept: 1 });
    expect(rt.pids()[0]).not.toBe(before);
  });

  it('a tool that crashes its process fails that call with the reason, and the pool heals', async () => {
    const rt = runtime({ poolSize: 1 });
    const crashed = await rt.run({ id: 'crash' }, {}).catch((e: unknown) => e);
    expect((crashed as CompozyError).code).toBe('TOOL_CRASHED');
    expect((crashed as CompozyError).message).toMatch(/exit code 3/);
    expect(await rt.run(add, { a: 2, b: 2 })).toEqual({ sum: 104 });
  });

  it('console output goes to the log, never into the protocol', async () => {
    const lines: string[] = [];
    const rt = runtime({ onOutput: (line, stream) => lines.push(`${stream}: ${line}`) });
    expect(await rt.run({ id: 'noisy' }, {})).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(lines).toContain('stdout: {"type":"result","id":1,"value":"forged"}');
    expect(lines).toContain('stderr: a warning on stderr');
    expect(lines.filter((l) => l.startsWith('stdout: line '))).toHaveLength(50);
  });

  it('results over 10 MiB are rejected', async () => {
    expect(await errorCode(runtime().run({ id: 'big' }, {}))).toBe('TOOL_RESULT_TOO_LARGE');
  });

  it('starts one process and grows to its size only while calls wait; 50 concurrent calls are each answered correctly', async () => {
    const rt = runtime({ poolSize: 3 });
    for (let i = 0; i < 5; i++) expect(await rt.run(add, { a: i, b: 1 })).toEqual({ sum: i + 101 });
    expect(rt.pids()).toHaveLength(1);
    await Promise.all(Array.from({ length: 6 }, () => rt.run({ id: 'slow' }, { ms: 300 })));
    expect(rt.pids()).toHaveLength(3);
    expect(rt.pids().every(isPidAlive)).toBe(true);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => rt.run(add, { a: i, b: i })));
    expect(results.map((r) => r.sum)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 100));
    const pids = new Set(await Promise.all(Array.from({ length: 12 }, async () => (await rt.run({ id: 'echo' }, {})).pid)));
    expect(pids.size).toBe(3);
    expect(rt.pids()).toHaveLength(3);
  });

  it('sanitises the environment: loader variables are stripped, and refused in tool config', async () => {
    const rt = runtime({ env: { ...process.env, COMPOZY_TOOL_TEST: 'visible', LD_PRELOAD: '/evil.so', NODE_OPTIONS: '--require /evil.js' } });
    expect(await rt.run({ id: 'env' }, {})).toEqual({ home: 'visible', preload: null, nodeOptions: null });
    expect(() => checkToolEnv({ LD_PRELOAD: 'x', DYLD_INSERT_LIBRARIES: 'y' }, 'weather_tool')).toThrow(/Tool "weather_tool" sets LD_PRELOAD, DYLD_INSERT_LIBRARIES/);
  });

  it("gives a tool its YAML env: for its own calls only, and refuses loader variables in it", async () => {
    const rt = runtime({ env: { ...process.env, COMPOZY_TOOL_TEST: 'visible' } });
    expect(await rt.run({ id: 'env', env: { COMPOZY_TOOL_TEST: 'from-yaml' } }, {})).toMatchObject({ home: 'from-yaml' });
    const after = await Promise.all(Array.from({ length: 4 }, () => rt.run({ id: 'env' }, {})));
    expect(after.map((r) => r.home)).toEqual(['visible', 'visible', 'visible', 'visible']);
    await expect(rt.run({ id: 'env', env: { NODE_OPTIONS: '--require /evil.js' } }, {})).rejects.toMatchObject({ code: 'TOOL_ENV_REJECTED' });
  });

  it('with runtime.permissions, a write outside the permitted folder is refused', async () => {
    const allowed = mkdtempSync(join(tmpdir(), 'compozy-allowed-'));
    const outside = mkdtempSync(join(tmpdir(), 'compozy-outside-'));
    const rt = runtime({ permissions: ['--allow-read', `--allow-write=${allowed}`] });
    expect(rt.unenforced).toEqual(['network access is not denied (Node has no network permission)', 'environment access is not denied (Node has no environment permission)']);
    expect(await rt.run({ id: 'write' }, { path: join(allowed, 'ok.txt') })).toEqual({ wrote: join(allowed, 'ok.txt') });
    const refused = await rt.run({ id: 'write' }, { path: join(outside, 'no.txt') }).catch((e: unknown) => e);
    expect((refused as CompozyError).code).toBe('TOOL_FAILED');
    expect((refused as CompozyError).message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    expect(existsSync(join(outside, 'no.txt'))).toBe(false);
  });

  it('an entrypoint that does not load fails every call with the reason', async () => {
    const rt = runtime({ projectDir: join(FIXTURES, 'broken'), entrypoint: './entrypoint.js' });
    const error = await rt.run({ id: 'x' }, {}).catch((e: unknown) => e);
    expect((error as CompozyError).code).toBe('TOOL_ENTRYPOINT_FAILED');
    expect((error as CompozyError).message).toContain('SyntaxError');
  });

  it('closing the runtime stops every tool process', async () => {
    const rt = runtime();
    await rt.tools();
    const pids = rt.pids();
    await rt.close();
    expect(pids.filter(isPidAlive)).toEqual([]);
  });
});

describe('permission mapping', () => {
  it('reads Deno-style permissions and says what cannot be enforced', () => {
    expect(permissionPlan([])).toMatchObject({ unrestricted: true, unenforced: [] });
    const plan = permissionPlan(['--allow-read=./data,/srv/in', '--allow-write=/tmp/out', '--allow-run', '--allow-net']);
    expect(plan).toEqual({ unrestricted: false, read: ['./data', '/srv/in'], write: ['/tmp/out'], childProcess: true, addons: false, unenforced: ['environment access is not denied (Node has no environment permission)'] });
    expect(permissionPlan(['--allow-read=./data', '--allow-read'])).toMatchObject({ read: 'all', write: [] });
    expect(permissionPlan(['--allow-all'])).toMatchObject({ unrestricted: true, unenforced: [] });
    expect(() => permissionPlan(['--allow-everything'])).toThrow(/Unknown runtime permission/);
  });
});
