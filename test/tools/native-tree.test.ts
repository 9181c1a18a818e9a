import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fake-bin.js';
import { config, failure, tools } from '../helpers/native-tools.js';

describe('cp__list_dir', () => {
  const outside = tempDir('compozy-outside-');
  const { dir, native } = config('    root_dir: ./work\n', { 'work/a.txt': 'alpha', 'work/b.md': '# b', 'work/sub/c.txt': 'c', 'work/sub/deep/d.txt': 'dd', 'work/.compozy/store.db': 'state' });
  const t = tools(native, dir);
  symlinkSync(outside, join(dir, 'work/out'));

  it('lists files and folders with the Go engine entry shape, symlinks and the state folder left out', async () => {
    const { entries } = await t.call('cp__list_dir', { path: '.' });
    expect(entries).toEqual([
      { name: 'a.txt', path: '/a.txt', type: 'file', size: 5, modified: expect.any(String) },
      { name: 'b.md', path: '/b.md', type: 'file', size: 3, modified: expect.any(String) },
      { name: 'sub', path: '/sub', type: 'dir', size: 0, modified: expect.any(String) },
    ]);
  });

  it('recursive with a ** pattern, files only or folders only', async () => {
    const names = async (input: Record<string, unknown>) => ((await t.call('cp__list_dir', { path: '.', ...input })).entries as Array<{ path: string }>).map((e) => e.path);
    expect(await names({ recursive: true, pattern: '**/*.txt' })).toEqual(['/a.txt', '/sub/c.txt', '/sub/deep/d.txt']);
    expect(await names({ recursive: true, include_files: false })).toEqual(['/sub', '/sub/deep']);
    expect(await names({ recursive: true, include_dirs: false })).toEqual(['/a.txt', '/b.md', '/sub/c.txt', '/sub/deep/d.txt']);
  });

  it('pages by page_size with next_page_token, the last page without one', async () => {
    const first = await t.call('cp__list_dir', { path: '.', recursive: true, page_size: 2 });
    expect((first.entries as Array<{ path: string }>).map((e) => e.path)).toEqual(['/a.txt', '/b.md']);
    expect(first.next_page_token).toBe('2');
    const second = await t.call('cp__list_dir', { path: '.', recursive: true, page_size: 2, page_token: '2' });
    expect((second.entries as Array<{ path: string }>).map((e) => e.path)).toEqual(['/sub', '/sub/c.txt']);
    const last = await t.call('cp__list_dir', { path: '.', recursive: true, page_size: 2, page_token: '4' });
    expect(last).toEqual({ entries: [expect.objectContaining({ path: '/sub/deep' }), expect.objectContaining({ path: '/sub/deep/d.txt' })] });
  });

  it('refuses a bad token, no kind included, a file, a missing path, a path out of the root and the state folder', async () => {
    expect(await failure(t.call('cp__list_dir', { path: '.', page_token: 'x' }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'InvalidArgument', message: 'cp__list_dir: invalid page token' });
    expect(await failure(t.call('cp__list_dir', { path: '.', page_token: '-1' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__list_dir', { path: '.', include_files: false, include_dirs: false }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__list_dir', { path: 'a.txt' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__list_dir', { path: 'nope' }))).toMatchObject({ go: 'FileNotFound' });
    expect(await failure(t.call('cp__list_dir', { path: '..' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__list_dir', { path: 'out' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__list_dir', { path: '.compozy' }))).toMatchObject({ go: 'PermissionDenied' });
  });
});

describe('cp__grep', () => {
  const outside = tempDir('compozy-outside-');
  writeFileSync(join(outside, 'secret.txt'), 'TODO secret\n');
  const { dir, native } = config('    enabled: true\n', {
    'src/a.ts': 'const x = 1; // TODO one\r\n  todo two TODO three\n',
    'src/nested/b.ts': 'héllo TODO\n',
    'src/bin.dat': 'TODO\u0000binary',
    'top.txt': 'TODO top\n',
    '.compozy/log.txt': 'TODO state\n',
  });
  const t = tools(native, dir);
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'src/link.txt'));
  symlinkSync(outside, join(dir, 'src/outdir'));

  it('finds every match with file, line, byte column and the trimmed line; recursion only when asked', async () => {
    expect(await t.call('cp__grep', { pattern: 'TODO', path: 'src' })).toEqual({
      matches: [
        { file: '/src/a.ts', line: 1, column: 17, text: 'const x = 1; // TODO one' },
        { file: '/src/a.ts', line: 2, column: 12, text: 'todo two TODO three' },
      ],
    });
    const deep = await t.call('cp__grep', { pattern: 'TODO', path: 'src', recursive: true });
    expect(deep.matches).toContainEqual({ file: '/src/nested/b.ts', line: 1, column: 8, text: 'héllo TODO' });
    expect((deep.matches as unknown[]).length).toBe(3);
  });

  it('ignore_case, max_results, a single file, and files larger than max_file_bytes skipped', async () => {
    const loose = await t.call('cp__grep', { pattern: 'todo', path: 'src/a.ts', ignore_case: true });
    expect((loose.matches as Array<{ column: number }>).map((m) => m.column)).toEqual([17, 3, 12]);
    expect((await t.call('cp__grep', { pattern: 'todo', path: 'src/a.ts', ignore_case: true, max_results: 2 })).matches).toHaveLength(2);
    expect(await t.call('cp__grep', { pattern: 'TODO', path: 'src/a.ts', max_file_bytes: 10 })).toEqual({ matches: [] });
  });

  it('never searches the state folder, binary files or symbolic links, from the project root', async () => {
    const all = await t.call('cp__grep', { pattern: 'TODO', path: '.', recursive: true });
    const files = new Set((all.matches as Array<{ file: string }>).map((m) => m.file));
    expect([...files].sort()).toEqual(['/src/a.ts', '/src/nested/b.ts', '/top.txt']);
  });

  it('refuses an empty or invalid pattern, a symlinked path, a missing path and a path out of the root', async () => {
    expect(await failure(t.call('cp__grep', { pattern: ' ', path: 'src' }))).toMatchObject({ go: 'InvalidArgument', message: 'cp__grep: pattern must be provided' });
    expect(await failure(t.call('cp__grep', { pattern: '(', path: 'src' }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'InvalidArgument' });
    expect(await failure(t.call('cp__grep', { pattern: 'TODO', path: 'src/link.txt' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__grep', { pattern: 'TODO', path: 'missing' }))).toMatchObject({ go: 'FileNotFound' });
    expect(await failure(t.call('cp__grep', { pattern: 'TODO', path: '../' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__grep', { pattern: 'TODO', path: '.compozy' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__grep', { path: 'src' }))).toMatchObject({ code: 'TOOL_INPUT_INVALID' });
  });
});

describe('cp__delete_file', () => {
  it('deletes a file, a folder only with recursive, and reports success: false when nothing is there', async () => {
    const { dir, native } = config('    enabled: true\n', { 'a.txt': 'a', 'sub/b.txt': 'b', 'sub/deep/c.txt': 'c' });
    const t = tools(native, dir);
    expect(await t.call('cp__delete_file', { path: 'a.txt' })).toEqual({ success: true });
    expect(existsSync(join(dir, 'a.txt'))).toBe(false);
    expect(await t.call('cp__delete_file', { path: 'a.txt' })).toEqual({ success: false });
    expect(await failure(t.call('cp__delete_file', { path: 'sub' }))).toMatchObject({ go: 'InvalidArgument', message: 'cp__delete_file: recursive flag required for directory deletion' });
    expect(existsSync(join(dir, 'sub/b.txt'))).toBe(true);
    expect(await t.call('cp__delete_file', { path: 'sub', recursive: true })).toEqual({ success: true });
    expect(existsSync(join(dir, 'sub'))).toBe(false);
  });

  it('never deletes outside the root, through a symlink, a root itself, the state folder or a folder holding it', async () => {
    const outside = tempDir('compozy-outside-');
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    const { dir, native } = config('    enabled: true\n', { 'a.txt': 'a', '.compozy/store.db': 'state', 'nested/p/.compozy/x.db': 'other state', 'nested/p/f.txt': 'f' });
    const t = tools(native, dir);
    symlinkSync(join(outside, 'keep.txt'), join(dir, 'link.txt'));
    symlinkSync(outside, join(dir, 'outdir'));
    mkdirSync(join(dir, 'real'));
    expect(await failure(t.call('cp__delete_file', { path: '../x' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: join(outside, 'keep.txt') }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: 'link.txt' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: 'outdir/keep.txt' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: '.', recursive: true }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: '.compozy', recursive: true }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: '.compozy/store.db' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__delete_file', { path: 'nested', recursive: true }))).toMatchObject({ go: 'PermissionDenied' });
    expect(existsSync(join(outside, 'keep.txt'))).toBe(true);
    expect(existsSync(join(dir, '.compozy/store.db'))).toBe(true);
    expect(existsSync(join(dir, 'nested/p/f.txt'))).toBe(true);
    expect(existsSync(join(dir, 'link.txt'))).toBe(true);
  });
});
