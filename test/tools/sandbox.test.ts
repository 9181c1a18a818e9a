import { existsSync, linkSync, rmSync, mkdirSync, readFileSync, realpathSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { CompozyError } from '../../src/errors.js';
import { protectedStatePaths } from '../../src/server/engine-deps.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { FrameReader, MAX_REPLY_FRAME_BYTES, frame } from '../../src/tools/protocol.js';
import { ToolRuntime } from '../../src/tools/runtime.js';
import { tempDir } from '../helpers/fake-bin.js';
import { writeFiles } from '../helpers/files.js';

const ENTRYPOINT = `import { readFileSync, writeFileSync, writeSync } from 'node:fs';
export const read = ({ path }) => ({ text: readFileSync(path, 'utf8') });
export const write = ({ path }) => { writeFileSync(path, 'written'); return { wrote: path }; };
export const add = ({ a, b }) => ({ sum: a + b });
/** Sends a result of its own for every call id it could have, then returns the real one. */
export const forge = () => {
  for (let id = 1; id <= 50; id++) process.send?.({ type: 'result', id, value: { forged: true } });
  return { forged: false };
};
/** Answers every later call itself, before the real answer. */
export const plant = () => {
  process.on('message', (message) => process.send?.({ type: 'result', id: message.id, value: { forged: true } }));
  return { planted: true };
};
/** Writes a well-formed reply frame to the worker's socket itself, with a MAC it had to guess, and never returns. */
export const rawForge = ({ id }) => {
  const body = Buffer.from(JSON.stringify({ type: 'result', id, value: { forged: true } }));
  const payload = Buffer.concat([Buffer.alloc(32, 7), body]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length);
  writeSync(3, Buffer.concat([head, payload]));
  return new Promise(() => undefined);
};
/** Floods the worker's socket. */
export const flood = () => {
  const junk = Buffer.alloc(1 << 16, 0xff);
  for (;;) writeSync(3, junk);
};
`;

const runtimes: ToolRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

/** A project with the entrypoint, data/a.txt and a .compozy/ holding a store file; and a folder outside it with a secret. */
function project(): { dir: string; outside: string } {
  const dir = writeFiles({ 'entrypoint.mjs': ENTRYPOINT, 'data/a.txt': 'data', '.compozy/kv.db': 'every execution', '.compozy/logs/serve.log': 'log' });
  const outside = tempDir('outside');
  writeFileSync(join(outside, 'secret.txt'), 'outside secret');
  return { dir, outside };
}

function runtime(dir: string, permissions: string[], poolSize = 1): ToolRuntime {
  const rt = new ToolRuntime({ projectDir: dir, entrypoint: './entrypoint.mjs', permissions, poolSize, watchIntervalMs: 100 });
  runtimes.push(rt);
  return rt;
}

async function failure(promise: Promise<unknown>): Promise<CompozyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CompozyError)) throw new Error(`expected a CompozyError, got ${JSON.stringify(error)}`);
  return error;
}

const read = (rt: ToolRuntime, path: string) => rt.run({ id: 'read' }, { path });

async function until(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('sandbox: symbolic links', () => {
  it('a symlink in a granted folder to a file outside it stops the pool, naming the link; removing it and reloading brings the pool up', async () => {
    const { dir } = project();
    symlinkSync('/etc/passwd', join(dir, 'data', 'link_passwd'));
    const rt = runtime(dir, ['--allow-read=./data']);
    const error = await failure(read(rt, join(dir, 'data', 'link_passwd')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${join(dir, 'data', 'link_passwd')} is a symbolic link to /etc/passwd, outside what runtime.permissions grant`);
    expect(rt.status()).toMatchObject({ state: 'down', error: { code: 'CONFIG_INVALID' } });

    unlinkSync(join(dir, 'data', 'link_passwd'));
    // The file watcher takes its first look asynchronously (an edit before it would be its starting point)
    // and waits for edits to settle, so the file is edited again, a second apart, until the pool reloads.
    let edits = 0;
    let lastEdit = 0;
    await until('the reload', () => {
      if (rt.status().state === 'down' && Date.now() - lastEdit > 1000) {
        writeFileSync(join(dir, 'entrypoint.mjs'), `${ENTRYPOINT}${'\n'.repeat(++edits)}`);
        lastEdit = Date.now();
      }
      return rt.status().state === 'up';
    });
    expect(await read(rt, join(dir, 'data', 'a.txt'))).toEqual({ text: 'data' });
  });

  it('a relative symlink into .compozy/ is refused, even when every path is readable', async () => {
    const { dir } = project();
    symlinkSync('../.compozy/kv.db', join(dir, 'data', 'state'));
    const error = await failure(read(runtime(dir, ['--allow-read']), join(dir, 'data', 'state')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${join(dir, 'data', 'state')} is a symbolic link to ${join(dir, '.compozy', 'kv.db')}, inside ${join(dir, '.compozy')}`);
  });

  it('a symlink to a folder that holds .compozy/ is refused', async () => {
    const { dir } = project();
    symlinkSync('..', join(dir, 'data', 'up'));
    const error = await failure(read(runtime(dir, ['--allow-read=./data']), join(dir, 'data', 'up', '.compozy', 'kv.db')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${join(dir, 'data', 'up')} is a symbolic link to ${dir}, which holds ${join(dir, '.compozy')}`);
  });

  it('a symlink whose target is granted too is allowed', async () => {
    const { dir, outside } = project();
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'data', 'shared'));
    expect(await read(runtime(dir, ['--allow-read=./data', `--allow-read=${outside}`]), join(dir, 'data', 'shared'))).toEqual({ text: 'outside secret' });
  });

  it('a granted folder that is itself a symlink out of the project is refused when written relative, allowed when written absolute', async () => {
    const { dir, outside } = project();
    symlinkSync(outside, join(dir, 'elsewhere'));
    const error = await failure(read(runtime(dir, ['--allow-read=./elsewhere']), join(dir, 'elsewhere', 'secret.txt')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`--allow-read=./elsewhere resolves to ${outside}, outside the project`);
  });
});

describe('sandbox: a state folder and store file outside .compozy/', () => {
  it('the run\'s state folder (COMPOZY_STATE_DIR) and the store file set by DB_PATH are denied wherever they are, their neighbours stay readable', async () => {
    const { dir } = project();
    const state = tempDir('custom-state');
    writeFileSync(join(state, 'kv.db'), 'the KV');
    const elsewhere = tempDir('custom-db');
    for (const [name, text] of [['store.db', 'the store'], ['store.db-wal', 'its WAL'], ['notes.txt', 'notes']]) writeFileSync(join(elsewhere, name as string), text as string);
    const settings = loadSettings({ dir, document: {} }, {}, { DB_PATH: join(elsewhere, 'store.db') });
    const protectedPaths = protectedStatePaths({ dir }, settings, state);
    const rt = new ToolRuntime({ projectDir: dir, entrypoint: './entrypoint.mjs', permissions: ['--allow-read'], poolSize: 1, protectedPaths });
    runtimes.push(rt);
    for (const path of [join(state, 'kv.db'), join(elsewhere, 'store.db'), join(elsewhere, 'store.db-wal'), join(dir, '.compozy', 'kv.db')]) {
      const error = await failure(read(rt, path));
      expect(error.code, error.message).toBe('TOOL_FAILED');
      expect(error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    }
    expect(await read(rt, join(elsewhere, 'notes.txt'))).toEqual({ text: 'notes' });
    const granting = new ToolRuntime({ projectDir: dir, entrypoint: './entrypoint.mjs', permissions: [`--allow-read=${state}`], poolSize: 1, protectedPaths });
    runtimes.push(granting);
    const refused = await failure(read(granting, join(state, 'kv.db')));
    expect(refused.code).toBe('CONFIG_INVALID');
    expect(refused.message).toContain(`grants ${realpathSync(state)}, inside ${realpathSync(state)}, the project's state`);
  });

  it('a PostgreSQL store protects no file of its own; the state folder stays denied', () => {
    const settings = loadSettings({ dir: '/projects/p', document: { database: { driver: 'postgres', path: '/var/lib/store.db' } } }, {}, {});
    expect(protectedStatePaths({ dir: '/projects/p' }, settings, '/run/state')).toEqual(['/projects/p/.compozy', '/run/state']);
  });
});

describe('sandbox: .. and .compozy/', () => {
  it('a relative grant that climbs out of the project with .. is refused; the same folder written absolute is granted', async () => {
    const { dir, outside } = project();
    const climbing = `../${basename(outside)}`;
    const error = await failure(read(runtime(dir, [`--allow-read=${climbing}`]), join(outside, 'secret.txt')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`--allow-read=${climbing} resolves to ${outside}, outside the project`);
    expect(await read(runtime(dir, [`--allow-read=${outside}`]), join(outside, 'secret.txt'))).toEqual({ text: 'outside secret' });
  });

  it('a tool cannot read .compozy/, through .. or directly, while the rest of the project stays readable', async () => {
    const { dir } = project();
    const rt = runtime(dir, ['--allow-read=./data']);
    for (const path of [join(dir, 'data', '..', '.compozy', 'kv.db'), join(dir, '.compozy', 'kv.db'), join(dir, '.compozy', 'logs', 'serve.log')]) {
      const error = await failure(read(rt, path));
      expect(error.code).toBe('TOOL_FAILED');
      expect(error.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    }
    expect(await read(rt, join(dir, 'entrypoint.mjs'))).toMatchObject({ text: ENTRYPOINT });
    expect(await read(rt, join(dir, 'data', 'a.txt'))).toEqual({ text: 'data' });
  });

  it('grants of every path leave .compozy/ out and still cover entries created after the pool started', async () => {
    const { dir, outside } = project();
    const rt = runtime(dir, ['--allow-read', '--allow-write']);
    const later = [join(dir, 'results.json'), join(dir, '.compozy-backup'), join(tmpdir(), `compozy-later-${process.pid}-${Date.now()}.txt`), join(outside, 'new.txt')];
    for (const path of later) {
      expect(await rt.run({ id: 'write' }, { path })).toEqual({ wrote: path });
      expect(await read(rt, path)).toEqual({ text: 'written' });
    }
    rmSync(later[2] as string);
    for (const path of [join(dir, '.compozy', 'kv.db'), join(dir, '.compozy', 'new.db')]) {
      expect((await failure(rt.run({ id: 'write' }, { path }))).message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    }
    expect(readFileSync(join(dir, '.compozy', 'kv.db'), 'utf8')).toBe('every execution');
    expect(existsSync(join(dir, '.compozy', 'new.db'))).toBe(false);
    expect((await failure(read(rt, join(dir, '.compozy', 'logs', 'serve.log')))).message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
  });

  it('grants of every path and of the project root leave .compozy/ out, for reading and writing', async () => {
    const { dir, outside } = project();
    const rt = runtime(dir, ['--allow-read', '--allow-write=.']);
    expect((await failure(read(rt, join(dir, '.compozy', 'kv.db')))).message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    expect(await read(rt, join(outside, 'secret.txt'))).toEqual({ text: 'outside secret' });
    expect(await read(rt, '/etc/hostname')).toMatchObject({ text: readFileSync('/etc/hostname', 'utf8') });
    // /proc stays readable, but not its process folders, whose cwd, root and fd links lead anywhere.
    expect(await read(rt, '/proc/cpuinfo')).toMatchObject({ text: expect.stringContaining('processor') });
    for (const path of ['/proc/self/cwd/.compozy/kv.db', `/proc/${process.pid}/cwd/package.json`]) {
      expect((await failure(read(rt, path))).message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted/);
    }
    const refused = await failure(rt.run({ id: 'write' }, { path: join(dir, '.compozy', 'kv.db') }));
    expect(refused.code).toBe('TOOL_FAILED');
    expect(readFileSync(join(dir, '.compozy', 'kv.db'), 'utf8')).toBe('every execution');
    expect(await rt.run({ id: 'write' }, { path: join(dir, 'data', 'out.txt') })).toEqual({ wrote: join(dir, 'data', 'out.txt') });
    expect(readFileSync(join(dir, 'data', 'out.txt'), 'utf8')).toBe('written');
  });

  it('a grant with a * is refused: Node would read it as a pattern (./.c* would cover .compozy/)', async () => {
    const { dir } = project();
    const error = await failure(read(runtime(dir, ['--allow-read=./.c*']), join(dir, '.compozy', 'kv.db')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--allow-read=./.c* has a "*"');
  });

  it('a grant inside .compozy/ is refused', async () => {
    const { dir } = project();
    const error = await failure(read(runtime(dir, ['--allow-write=./.compozy/logs']), join(dir, 'data', 'a.txt')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`inside ${join(dir, '.compozy')}, the project's state`);
  });
});

describe('sandbox: hard links', () => {
  it('a hard link in a granted folder to a file outside the grants is refused', async () => {
    const { dir, outside } = project();
    linkSync(join(outside, 'secret.txt'), join(dir, 'data', 'h.txt'));
    const error = await failure(read(runtime(dir, ['--allow-read=./data']), join(dir, 'data', 'h.txt')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${join(dir, 'data', 'h.txt')} is a hard link: the file has 2 names and 1 of them lie outside the granted paths`);
  });

  it('a hard link to a store file, wherever it is, is refused', async () => {
    const { dir, outside } = project();
    linkSync(join(dir, '.compozy', 'kv.db'), join(outside, 'kv-copy.db'));
    const error = await failure(read(runtime(dir, ['--allow-read=./data']), join(dir, 'data', 'a.txt')));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`${join(dir, '.compozy', 'kv.db')} has another name elsewhere (a hard link)`);
  });

  it('hard links whose every name is granted are allowed, and under node_modules/ they are not counted (package managers make them)', async () => {
    const { dir, outside } = project();
    linkSync(join(dir, 'data', 'a.txt'), join(dir, 'data', 'b.txt'));
    mkdirSync(join(dir, 'node_modules', 'pkg'), { recursive: true });
    linkSync(join(outside, 'secret.txt'), join(dir, 'node_modules', 'pkg', 'index.js'));
    expect(await read(runtime(dir, ['--allow-read=./data']), join(dir, 'data', 'b.txt'))).toEqual({ text: 'data' });
  });
});

describe('the result channel', () => {
  it('process.send does not exist in a tool, so a tool cannot answer for its own call or a later one', async () => {
    const { dir } = project();
    for (const permissions of [[], ['--allow-read=./data']]) {
      const rt = runtime(dir, permissions);
      expect(await rt.run({ id: 'forge' }, {})).toEqual({ forged: false });
      expect(await rt.run({ id: 'plant' }, {})).toEqual({ planted: true });
      expect(await rt.run({ id: 'add' }, { a: 1, b: 2 })).toEqual({ sum: 3 });
    }
  });

  it('a frame a tool writes to the socket itself is refused (not signed), its process killed, and the pool heals', async () => {
    const { dir } = project();
    const rt = runtime(dir, []);
    const [pid] = rt.pids();
    const error = await failure(rt.run({ id: 'rawForge', timeoutMs: 20_000 }, { id: 1 }));
    expect(error.code).toBe('TOOL_CRASHED');
    expect(error.message).toContain('the worker runtime did not sign');
    await until('the forging process to die', () => !isPidAlive(pid as number));
    expect(await rt.run({ id: 'add' }, { a: 2, b: 2 })).toEqual({ sum: 4 });
  });

  it('a tool flooding the socket fails with TOOL_RESULT_TOO_LARGE once the announced size is over the limit, and the pool heals', async () => {
    const { dir } = project();
    const rt = runtime(dir, []);
    const [pid] = rt.pids();
    const error = await failure(rt.run({ id: 'flood', timeoutMs: 20_000 }, {}));
    expect(error.code).toBe('TOOL_RESULT_TOO_LARGE');
    expect(error.message).toContain(`its process sent a ${0xffffffff}-byte message`);
    await until('the flooding process to die', () => !isPidAlive(pid as number));
    expect(await rt.run({ id: 'add' }, { a: 3, b: 3 })).toEqual({ sum: 6 });
  });
});

describe('frame reader', () => {
  it('reassembles frames cut anywhere and split across chunks', () => {
    const frames: string[] = [];
    const reader = new FrameReader(100, (payload) => frames.push(payload.toString()), () => frames.push('too large'));
    const bytes = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('')), frame(Buffer.from('three'))]);
    for (const byte of bytes) reader.push(Buffer.from([byte]));
    reader.push(Buffer.concat([frame(Buffer.from('four')), frame(Buffer.from('five'))]));
    expect(frames).toEqual(['one', '', 'three', 'four', 'five']);
  });

  it('stops at a header announcing more than the limit, keeping nothing of what follows', () => {
    const seen: Array<number | string> = [];
    const reader = new FrameReader(MAX_REPLY_FRAME_BYTES, (payload) => seen.push(payload.toString()), (announced) => seen.push(announced));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_REPLY_FRAME_BYTES + 1);
    reader.push(header);
    reader.push(frame(Buffer.from('after')));
    expect(seen).toEqual([MAX_REPLY_FRAME_BYTES + 1]);
    expect((reader as unknown as { buffered: number }).buffered).toBe(0);
  });
});
