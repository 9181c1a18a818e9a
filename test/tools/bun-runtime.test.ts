import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { loadProject } from '../../src/config/project.js';
import { toolsCheck } from '../../src/doctor/tools-check.js';
import { compileProject } from '../../src/engine/project.js';
import { toolInvoker } from '../../src/server/engine-deps.js';
import { CompozyError } from '../../src/errors.js';
import { bunPermissionPlan, packagedBun, resolveBunBinary, runtimePermissionDiagnostics } from '../../src/tools/bun.js';
import { toolDiagnostics } from '../../src/tools/check.js';
import { ToolRuntime } from '../../src/tools/runtime.js';
import { REPO } from '../helpers/cli.js';
import { errorCode } from '../helpers/errors.js';

const FIXTURE = join(REPO, 'test', 'fixtures', 'compat', 'bun-tools');
/** An environment without `bun` on PATH, so the binary comes from the bun npm package. */
const NO_PATH = { ...process.env, PATH: '/nonexistent', COMPOZY_BUN_BIN: '' };
const runtimes: ToolRuntime[] = [];

function runtime(options: Partial<ConstructorParameters<typeof ToolRuntime>[0]> = {}): ToolRuntime {
  const rt = new ToolRuntime({ projectDir: FIXTURE, type: 'bun', poolSize: 1, watchIntervalMs: 0, env: NO_PATH, ...options });
  runtimes.push(rt);
  return rt;
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

function project(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'compozy-bun-'));
  writeFileSync(join(dir, 'compozy.yaml'), `name: bun-check\n${yaml}`);
  // Bun is used at import time, so the entrypoint loads only under Bun.
  writeFileSync(join(dir, 'entrypoint.ts'), 'const version = Bun.version;\nexport default { hello: () => ({ bun: version }) };\n');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  return dir;
}

describe('the Bun binary', () => {
  it('comes from the bun npm package when it is not on PATH', () => {
    const found = resolveBunBinary({ env: NO_PATH });
    expect(found.source).toBe('package');
    expect(found.path).toMatch(/node_modules\/(bun|@oven\/bun-[^/]+)\/bin\/bun(\.exe)?$/);
  });

  it('is taken from COMPOZY_BUN_BIN, then runtime.bun_bin, before PATH; a path that is not a binary is an error naming it', () => {
    const packaged = resolveBunBinary({ env: NO_PATH }).path;
    expect(resolveBunBinary({ env: { ...NO_PATH, COMPOZY_BUN_BIN: packaged }, config: '/nope/bun' })).toEqual({ path: packaged, source: 'env' });
    expect(resolveBunBinary({ env: NO_PATH, config: packaged })).toEqual({ path: packaged, source: 'config' });
    const dir = mkdtempSync(join(tmpdir(), 'compozy-bun-path-'));
    writeFileSync(join(dir, 'bun'), '#!/bin/sh\n');
    chmodSync(join(dir, 'bun'), 0o755);
    expect(resolveBunBinary({ env: { ...NO_PATH, PATH: dir } })).toEqual({ path: join(dir, 'bun'), source: 'path' });
    expect(() => resolveBunBinary({ env: { ...NO_PATH, COMPOZY_BUN_BIN: '/nope/bun' } })).toThrow(/COMPOZY_BUN_BIN points to \/nope\/bun, which is not an executable file/);
  });

  it("from the package: the platform package's binary after an install with --ignore-scripts, never bun's placeholder script", () => {
    const root = mkdtempSync(join(tmpdir(), 'compozy-bun-pkg-'));
    writeFileSync(join(root, 'package.json'), '{}');
    const write = (dir: string, file: string, text: string) => {
      mkdirSync(join(root, 'node_modules', dir, 'bin'), { recursive: true });
      writeFileSync(join(root, 'node_modules', dir, 'package.json'), '{}');
      writeFileSync(join(root, 'node_modules', dir, 'bin', file), text);
      chmodSync(join(root, 'node_modules', dir, 'bin', file), 0o755);
      return join(root, 'node_modules', dir, 'bin', file);
    };
    // The bun package as published: bin/bun.exe is an executable script that only prints an error.
    const placeholder = write('bun', 'bun.exe', 'echo "Error: Bun\'s postinstall script was not run."\nexit 1\n');
    expect(packagedBun(root)).toBeUndefined();
    const platform = write(`@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`, 'bun', '#!/bin/sh\n');
    expect(packagedBun(root)).toBe(platform);
    // After the postinstall: the platform binary was moved over bin/bun.exe.
    rmSync(platform);
    writeFileSync(placeholder, Buffer.alloc(1024 * 1024));
    expect(packagedBun(root)).toBe(placeholder);
  });

  it('missing: the pool is down with BUN_NOT_FOUND and every call fails with it', async () => {
    const rt = runtime({ env: { ...NO_PATH, COMPOZY_BUN_BIN: '/nope/bun' } });
    expect(await errorCode(rt.run({ id: 'save_data' }, {}))).toBe('BUN_NOT_FOUND');
    expect(rt.status()).toMatchObject({ state: 'down', error: { code: 'BUN_NOT_FOUND' } });
  });
});

describe('tools under Bun', () => {
  it('a tool that calls Bun.write and Bun.file runs; the same tool under the Node pool does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compozy-bun-out-'));
    const rt = runtime();
    const saved = await rt.run({ id: 'save_data' }, { dir, payload: { city: 'Lisbon', temperature: 21 }, format: 'json' });
    expect(saved).toMatchObject({ path: join(dir, 'results.json'), bun: expect.stringMatching(/^\d+\.\d+/) });
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toEqual({ city: 'Lisbon', temperature: 21 });
    expect(await rt.run({ id: 'read_data' }, { path: join(dir, 'results.json') })).toMatchObject({ text: readFileSync(join(dir, 'results.json'), 'utf8') });

    const node = runtime({ type: 'node' });
    const underNode = await node.run({ id: 'save_data' }, { dir, payload: {}, format: 'txt' }).catch((error: CompozyError) => error);
    expect(underNode).toMatchObject({ code: 'TOOL_FAILED', message: expect.stringContaining('Bun is not defined'), hint: expect.stringContaining('set runtime.type: bun') });
  });

  it('one warm process serves consecutive calls; a timeout kills it and the next call gets a fresh one', async () => {
    const rt = runtime();
    const first = (await rt.run({ id: 'read_data' }, { path: join(FIXTURE, 'package.json') })).pid;
    expect((await rt.run({ id: 'read_data' }, { path: join(FIXTURE, 'package.json') })).pid).toBe(first);
    expect(rt.pids()).toEqual([first]);
    const timedOut = await rt.run({ id: 'slow', timeoutMs: 300 }, { ms: 5000 }).catch((error: CompozyError) => error);
    expect(timedOut).toMatchObject({ code: 'TOOL_TIMEOUT', message: expect.stringContaining('did not finish within 300 ms') });
    const after = (await rt.run({ id: 'read_data' }, { path: join(FIXTURE, 'package.json') })).pid;
    expect(after).not.toBe(first);
  });

  it("a tool's error reaches the caller with its message and stack", async () => {
    const error = await runtime().run({ id: 'explode' }, { reason: 'no data' }).catch((failure: CompozyError) => failure);
    expect(error).toMatchObject({ code: 'TOOL_FAILED', message: 'Tool "explode": explode: no data' });
    expect(String((error as CompozyError).details?.stack)).toContain('entrypoint.ts');
  });

  it('input travels as JSON: nested data and unicode arrive as sent; the schema still checks it first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'compozy-bun-out-'));
    const payload = { list: [1, 'two', null, { deep: ['é', '🌍'] }], flag: true };
    const rt = runtime();
    await rt.run({ id: 'save_data' }, { dir, payload, format: 'json' });
    expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toEqual(payload);
    const schema = { type: 'object', properties: { format: { enum: ['json', 'txt'] } } };
    expect(await errorCode(rt.run({ id: 'save_data', inputSchema: schema }, { dir, payload, format: 'xml' }))).toBe('TOOL_INPUT_INVALID');
  });

  it('an entrypoint that does not parse, or throws at import, is down with its file:line:col', async () => {
    const dir = project('runtime:\n  type: bun\n');
    writeFileSync(join(dir, 'syntax.ts'), 'export default {\n  a: () => 1,\n  b: ( => 2,\n};\n');
    writeFileSync(join(dir, 'throws.ts'), 'const x = 1;\nthrow new Error(`import failed ${x}`);\nexport default {};\n');
    for (const [file, place, text] of [['syntax.ts', '3:8', 'BuildMessage: Unexpected =>'], ['throws.ts', '2:11', 'Error: import failed 1']] as const) {
      const rt = runtime({ projectDir: dir, entrypoint: `./${file}` });
      const error = await rt.tools().catch((failure: CompozyError) => failure);
      expect(error).toMatchObject({ code: 'TOOL_ENTRYPOINT_FAILED', details: { location: `${join(dir, file)}:${place}` } });
      expect((error as CompozyError).message).toContain(text);
    }
  });

  it("project .env files are not loaded into a tool's environment (as under Node)", async () => {
    const dir = project('runtime:\n  type: bun\n');
    writeFileSync(join(dir, '.env'), 'SECRET_FROM_DOTENV=leaked\n');
    writeFileSync(join(dir, 'entrypoint.ts'), 'export default { env: () => ({ value: process.env.SECRET_FROM_DOTENV ?? null }) };\n');
    expect(await runtime({ projectDir: dir }).run({ id: 'env' }, {})).toEqual({ value: null });
  });
});

describe('runtime.permissions under Bun', () => {
  it('a grant narrowed to paths is refused by name; a whole capability, an empty list and --allow-all are taken', () => {
    expect(() => bunPermissionPlan(['--allow-read', '--allow-write=./out'])).toThrow(/runtime.permissions --allow-write=.\/out cannot be enforced under runtime.type: bun: Bun has no permission model/);
    expect(() => bunPermissionPlan(['--allow-telepathy'])).toThrow(/Unknown runtime permission "--allow-telepathy"/);
    expect(bunPermissionPlan([]).unenforced).toEqual([]);
    expect(bunPermissionPlan(['--allow-all']).unenforced).toEqual([]);
  });

  it('what a list implies by leaving capabilities out is said as not enforced, never claimed', () => {
    const { unenforced } = bunPermissionPlan(['--allow-read', '--allow-net']);
    expect(unenforced).toEqual([
      'writing files is not denied (no --allow-write): Bun has no permission model',
      'running processes is not denied (no --allow-run): Bun has no permission model',
      'environment access is not denied (no --allow-env): Bun has no permission model',
      'loading native addons is not denied (no --allow-ffi): Bun has no permission model',
      'the .compozy/ state folder is not protected: Bun has no permission model',
    ]);
    expect(runtime({ permissions: ['--allow-read', '--allow-net'] }).unenforced).toEqual(unenforced);
  });

  it('a refused grant is a diagnostic at its place, under permissions or bun_permissions; its pool is down with it', async () => {
    for (const key of ['permissions', 'bun_permissions']) {
      const { project: config } = loadProjectConfig(project(`runtime:\n  type: bun\n  ${key}:\n    - --allow-read\n    - --allow-read=./data\n`));
      const [diagnostic, ...rest] = runtimePermissionDiagnostics(config!);
      expect(rest).toEqual([]);
      expect(diagnostic).toMatchObject({ key: `runtime.${key}[1]`, line: 6, message: expect.stringContaining(`runtime.${key} --allow-read=./data cannot be enforced`) });
    }
    const rt = runtime({ permissions: ['--allow-read=./data'] });
    expect(await errorCode(rt.run({ id: 'save_data' }, {}))).toBe('CONFIG_INVALID');
  });

  it('config validate loads the entrypoint under Bun: a project whose tools use Bun APIs is clean', async () => {
    const dir = project('runtime:\n  type: bun\n  bun_permissions: [--allow-read]\n');
    mkdirSync(join(dir, 'tools'));
    const { project: config, diagnostics } = loadProjectConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(await toolDiagnostics(config!)).toEqual([]);
    // The same project under Node: its import-time Bun.version fails to load, with the hint to say bun.
    writeFileSync(join(dir, 'compozy.yaml'), 'name: bun-check\n');
    const [underNode, ...rest] = await toolDiagnostics(loadProjectConfig(dir).project!);
    expect(rest).toEqual([]);
    expect(underNode).toMatchObject({ key: 'runtime.entrypoint', message: expect.stringContaining('Bun is not defined'), hint: expect.stringContaining('set runtime.type: bun') });
  });

  it("the tools health row: backend bun, and what Bun does not enforce", async () => {
    const { project: config } = loadProjectConfig(FIXTURE);
    const tools = toolInvoker(config!, compileProject(config!, 20), { defaultTimeoutMs: 5000, poolSize: 1, log: () => undefined, runsTasks: true });
    try {
      await tools.call('read_data', { path: join(FIXTURE, 'package.json') }, {});
      expect(tools.health()).toMatchObject({
        name: 'tools',
        backend: 'bun ×1',
        state: 'up',
        detail: expect.stringContaining('4 tools; not enforced: running processes is not denied (no --allow-run): Bun has no permission model;'),
      });
      expect(tools.health()?.detail).toContain('the .compozy/ state folder is not protected');
    } finally {
      await tools.close();
    }
  });

  it('doctor names the Bun binary and warns of each restriction Bun does not enforce', async () => {
    const dir = project('runtime:\n  type: bun\n  permissions: [--allow-read, --allow-write, --allow-net, --allow-env]\n');
    const result = await toolsCheck.run({ project: loadProject(dir), env: NO_PATH });
    expect(result).toMatchObject({ name: 'tools', status: 'warn' });
    expect(result?.message).toContain(`(under Bun ${resolveBunBinary({ env: NO_PATH }).path})`);
    expect(result?.message).toContain('running processes is not denied (no --allow-run): Bun has no permission model; loading native addons is not denied (no --allow-ffi): Bun has no permission model; the .compozy/ state folder is not protected');
    expect(result?.fix).toContain('Bun restricts nothing');
  });

  it('the loader refuses another runtime.type, bun_permissions or bun_bin under node, and both lists at once', () => {
    const messages = (yaml: string) => loadProjectConfig(project(yaml)).diagnostics.map((d) => `${d.key}: ${d.message}`);
    expect(messages('runtime:\n  type: deno\n')).toEqual(['runtime.type: runtime.type "deno" is not supported: tools run under node or bun.']);
    expect(messages('runtime:\n  type: node\n  bun_permissions: [--allow-read]\n')).toEqual(['runtime.bun_permissions: runtime.bun_permissions applies to runtime.type: bun; tools here run under node.']);
    expect(messages('runtime:\n  bun_bin: /usr/bin/bun\n')).toEqual(['runtime.bun_bin: runtime.bun_bin applies to runtime.type: bun; tools here run under node.']);
    expect(messages('runtime:\n  type: bun\n  permissions: [--allow-read]\n  bun_permissions: [--allow-read]\n')).toEqual(['runtime.bun_permissions: runtime.bun_permissions and runtime.permissions are both set; they name the same list.']);
    expect(messages('runtime:\n  type: bun\n')).toEqual([]);
  });
});
