import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join, matchesGlob, relative, sep } from 'node:path';
import { nativeError } from './errors.js';
import { Roots, virtualPath } from './roots.js';

/** The Go engine's limits (engine/tool/builtin/filesystem/common.go); they are not configurable there either. */
export const MAX_FILE_BYTES = 1 << 20;
export const MAX_LIST_ENTRIES = 10_000;
export const BINARY_SAMPLE_BYTES = 8 * 1024;
const ALLOWED_CONTROL = new Set([0x0a, 0x0d, 0x09, 0x0c, 0x08]);

function metadata(info: { size: number; mode: number; mtime: Date }, root: string, path: string): Record<string, unknown> {
  return { path: virtualPath(root, path), size: info.size, mode: info.mode & 0o777, modified: info.mtime.toISOString() };
}

/** Go's isBinaryContent: a NUL byte, or more than 30 % bytes outside printable ASCII and common controls. */
export function isBinary(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  let odd = 0;
  for (const b of sample) {
    if (b === 0) return true;
    if ((b < 0x20 || b > 0x7e) && !ALLOWED_CONTROL.has(b)) odd++;
  }
  return odd / sample.length > 0.3;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export async function readFile(roots: Roots, input: { path: string }): Promise<Record<string, unknown>> {
  const tool = 'cp__read_file';
  const { path, root } = await roots.resolve(tool, input.path, 'path');
  await Roots.rejectSymlink(tool, path, input.path);
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw nativeError(tool, 'FileNotFound', `"${input.path}" does not exist`, { path: input.path });
    throw nativeError(tool, 'Internal', `failed to stat file: ${error.message}`, { path: input.path });
  });
  if (info.isDirectory()) throw nativeError(tool, 'InvalidArgument', `"${input.path}" is a directory`, { path: input.path });
  if (info.size > MAX_FILE_BYTES) throw nativeError(tool, 'InvalidArgument', `"${input.path}" exceeds the maximum size (${info.size} > ${MAX_FILE_BYTES} bytes)`, { path: input.path, size: info.size, limit: MAX_FILE_BYTES });
  const handle = await open(path, 'r');
  let data: Buffer;
  try {
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    data = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  if (data.length > MAX_FILE_BYTES) throw nativeError(tool, 'InvalidArgument', `"${input.path}" exceeds the maximum size (${MAX_FILE_BYTES} bytes)`, { path: input.path, limit: MAX_FILE_BYTES });
  if (isBinary(data.subarray(0, BINARY_SAMPLE_BYTES))) throw nativeError(tool, 'InvalidArgument', `"${input.path}" is a binary file; only UTF-8 text is read`, { path: input.path });
  let content: string;
  try {
    content = UTF8.decode(data);
  } catch {
    throw nativeError(tool, 'InvalidArgument', `"${input.path}" is not valid UTF-8`, { path: input.path });
  }
  return { content, metadata: metadata(info, root, path) };
}

export async function writeFile(roots: Roots, input: { path: string; content: string; append?: boolean; mode?: number }): Promise<Record<string, unknown>> {
  const tool = 'cp__write_file';
  const { path, root } = await roots.resolve(tool, input.path, 'path');
  await Roots.rejectParentSymlinks(tool, root, path, input.path);
  await Roots.rejectSymlink(tool, path, input.path);
  const bytes = Buffer.from(input.content, 'utf8');
  if (bytes.length > MAX_FILE_BYTES) throw nativeError(tool, 'InvalidArgument', `content exceeds the maximum size (${bytes.length} > ${MAX_FILE_BYTES} bytes)`, { limit: MAX_FILE_BYTES });
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, input.append ? 'a' : 'w', input.mode ?? 0o644).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EACCES' || error.code === 'EPERM') throw nativeError(tool, 'PermissionDenied', error.message, { path: input.path });
    throw nativeError(tool, 'Internal', `failed to open file: ${error.message}`, { path: input.path });
  });
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    return { success: true, metadata: metadata(await handle.stat(), root, path) };
  } finally {
    await handle.close();
  }
}

function excludePatterns(tool: string, exclude: unknown): Array<{ match: (path: string) => boolean; negated: boolean }> {
  const list = exclude === undefined || exclude === null ? [] : typeof exclude === 'string' ? [exclude] : Array.isArray(exclude) ? exclude : undefined;
  if (!list || list.some((p) => typeof p !== 'string')) throw nativeError(tool, 'InvalidArgument', 'exclude must be a string or an array of strings', { field: 'exclude' });
  return (list as string[])
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      const negated = p.startsWith('!');
      const pattern = negated ? p.slice(1).trim() : p;
      return { match: (path: string) => matchesGlob(path, pattern), negated };
    });
}

/** Go's shouldExclude: positive patterns exclude, `!pattern` re-includes; only negative patterns exclude what they do not match. */
function excluded(name: string, patterns: ReturnType<typeof excludePatterns>): boolean {
  let out = false;
  let positive = false;
  for (const pattern of patterns) {
    if (!pattern.negated) positive = true;
    const matched = pattern.match(name);
    if (pattern.negated) {
      if (matched) out = false;
      else if (!positive) out = true;
    } else if (matched) out = true;
  }
  return out;
}

export async function listFiles(roots: Roots, input: { dir: string; exclude?: unknown; recursive?: boolean }): Promise<Record<string, unknown>> {
  const tool = 'cp__list_files';
  if (input.dir.trim() === '') throw nativeError(tool, 'InvalidArgument', 'dir must be provided', { field: 'dir' });
  const { path: base } = await roots.resolve(tool, input.dir, 'dir');
  const info = await stat(base).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw nativeError(tool, 'FileNotFound', `"${input.dir}" does not exist`, { dir: input.dir });
    throw nativeError(tool, 'Internal', `failed to stat directory: ${error.message}`, { dir: input.dir });
  });
  if (!info.isDirectory()) throw nativeError(tool, 'InvalidArgument', `"${input.dir}" is not a directory`, { dir: input.dir });
  const patterns = excludePatterns(tool, input.exclude);
  const files: string[] = [];
  const queue = [base];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head] as string;
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (roots.isProtected(full)) continue;
      if (entry.isDirectory()) {
        if (input.recursive) queue.push(full);
        continue;
      }
      const rel = relative(base, full).split(sep).join('/');
      if (excluded(rel, patterns) || excluded(entry.name, patterns)) continue;
      files.push(rel);
      if (files.length > MAX_LIST_ENTRIES) throw nativeError(tool, 'InvalidArgument', `more than ${MAX_LIST_ENTRIES} entries`, { limit: MAX_LIST_ENTRIES });
    }
  }
  return { files: files.sort() };
}
