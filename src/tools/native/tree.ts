import { lstat, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, matchesGlob, relative, sep } from 'node:path';
import { nativeError } from './errors.js';
import { BINARY_SAMPLE_BYTES, isBinary, MAX_FILE_BYTES, MAX_LIST_ENTRIES } from './files.js';
import { Roots, virtualPath } from './roots.js';

/** The Go engine's traversal limits (engine/tool/builtin/filesystem/common.go), not configurable there either. */
const MAX_RESULTS = 1000;
const MAX_FILES_VISITED = 10_000;
const DEFAULT_PAGE_SIZE = 200;

/** Go's clampPositive: 0 or less is the fallback, more than the maximum is the maximum. */
function clamp(value: number | undefined, fallback: number, maximum: number): number {
  if (value === undefined || value <= 0) return fallback;
  return Math.min(value, maximum);
}

function visitLimit(tool: string, visited: number): void {
  if (visited > MAX_FILES_VISITED) throw nativeError(tool, 'InvalidArgument', 'traversal limit exceeded', { limit: MAX_FILES_VISITED });
}

async function lstatOrMissing(tool: string, path: string, value: string): Promise<Stats> {
  return lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw nativeError(tool, 'FileNotFound', `"${value}" does not exist`, { path: value });
    throw nativeError(tool, 'Internal', `failed to stat path: ${error.message}`, { path: value });
  });
}

/** The entries of a directory by name, as the Go engine walks them (breadth first, sorted by name). */
async function sortedEntries(tool: string, root: string, dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    const code = error.code === 'EACCES' || error.code === 'EPERM' ? 'PermissionDenied' : 'Internal';
    throw nativeError(tool, code, `failed to read directory: ${error.message}`, { path: virtualPath(root, dir) });
  });
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The entries below `base` breadth first, each folder's sorted by name (Go's walk order), without
 * symbolic links and the state folder; subfolders are entered when `recursive`.
 */
async function* walk(tool: string, roots: Roots, root: string, base: string, recursive: boolean): AsyncGenerator<{ name: string; full: string; entry: Stats }> {
  const queue = [base];
  for (let head = 0; head < queue.length; head++) {
    for (const name of await sortedEntries(tool, root, queue[head] as string)) {
      const full = join(queue[head] as string, name);
      if (roots.isProtected(full)) continue;
      const entry = await lstat(full).catch(() => undefined);
      if (!entry || entry.isSymbolicLink()) continue;
      if (entry.isDirectory() && recursive) queue.push(full);
      yield { name, full, entry };
    }
  }
}

export interface ListDirInput {
  path: string;
  pattern?: string;
  recursive?: boolean;
  include_files?: boolean;
  include_dirs?: boolean;
  page_size?: number;
  page_token?: string;
}

/**
 * cp__list_dir (Go filesystem/list_dir.go): files and folders with name, path, type, size and
 * modified, a glob on the path relative to the listed folder, pages of page_size (default 200, at most
 * 10,000) with next_page_token the offset of the next page. Symbolic links and the state folder are left out.
 */
export async function listDir(roots: Roots, input: ListDirInput): Promise<Record<string, unknown>> {
  const tool = 'cp__list_dir';
  const { path: base, root } = await roots.resolve(tool, input.path, 'path');
  const info = await lstatOrMissing(tool, base, input.path);
  if (!info.isDirectory()) throw nativeError(tool, 'InvalidArgument', `"${input.path}" is not a directory`, { path: input.path });
  let offset = 0;
  if (input.page_token !== undefined && input.page_token !== '') {
    if (!/^-?\d+$/.test(input.page_token)) throw nativeError(tool, 'InvalidArgument', 'invalid page token', { token: input.page_token });
    offset = Number(input.page_token);
    if (offset < 0) throw nativeError(tool, 'InvalidArgument', 'page token must be non-negative', { token: input.page_token });
  }
  const pageSize = clamp(input.page_size, DEFAULT_PAGE_SIZE, MAX_LIST_ENTRIES);
  const includeFiles = input.include_files ?? true;
  const includeDirs = input.include_dirs ?? true;
  if (!includeFiles && !includeDirs) throw nativeError(tool, 'InvalidArgument', 'at least one of include_files or include_dirs must be true');
  const entries: Array<Record<string, unknown>> = [];
  let matched = 0;
  let visited = 0;
  for await (const { name, full, entry } of walk(tool, roots, root, base, input.recursive === true)) {
    const isDir = entry.isDirectory();
    visitLimit(tool, ++visited);
    if (isDir ? !includeDirs : !includeFiles) continue;
    if (input.pattern && !matchesGlob(relative(base, full).split(sep).join('/'), input.pattern)) continue;
    if (++matched <= offset) continue;
    if (entries.length === pageSize) return { entries, next_page_token: String(offset + entries.length) };
    entries.push({ name, path: virtualPath(root, full), type: isDir ? 'dir' : 'file', size: isDir ? 0 : entry.size, modified: entry.mtime.toISOString() });
  }
  return { entries };
}

export interface GrepInput {
  pattern: string;
  path: string;
  recursive?: boolean;
  ignore_case?: boolean;
  max_results?: number;
  max_files_visited?: number;
  max_file_bytes?: number;
}

/** The lines of a text file as Go's bufio.Scanner splits them (\n, a trailing \r dropped). */
function lines(text: string): string[] {
  const split = text.split('\n');
  if (split[split.length - 1] === '') split.pop();
  return split.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

async function readSmall(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.alloc(size);
  const { bytesRead } = await handle.read(buffer, 0, size, 0);
  return buffer.subarray(0, bytesRead);
}

/**
 * cp__grep (Go filesystem/grep.go): every match of a regular expression as {file, line, column, text}
 * (column in bytes from 1, text the trimmed line), in a file or a folder (its subfolders with
 * recursive), at most max_results; larger than max_file_bytes, binary files and symbolic links are
 * skipped. The expression is JavaScript's (the Go engine's is RE2: the common syntax is the same).
 */
export async function grep(roots: Roots, input: GrepInput): Promise<Record<string, unknown>> {
  const tool = 'cp__grep';
  if (input.pattern.trim() === '') throw nativeError(tool, 'InvalidArgument', 'pattern must be provided', { field: 'pattern' });
  const { path: target, root } = await roots.resolve(tool, input.path, 'path');
  const info = await lstatOrMissing(tool, target, input.path);
  if (info.isSymbolicLink()) throw nativeError(tool, 'PermissionDenied', `"${input.path}" is a symbolic link`, { path: input.path });
  let re: RegExp;
  try {
    re = new RegExp(input.pattern, input.ignore_case ? 'gi' : 'g');
  } catch (error) {
    throw nativeError(tool, 'InvalidArgument', `invalid pattern: ${(error as Error).message}`, { pattern: input.pattern });
  }
  const maxResults = clamp(input.max_results, MAX_RESULTS, MAX_RESULTS);
  const maxVisited = clamp(input.max_files_visited, MAX_FILES_VISITED, MAX_FILES_VISITED);
  const maxBytes = input.max_file_bytes !== undefined && input.max_file_bytes > 0 ? Math.min(input.max_file_bytes, MAX_FILE_BYTES) : MAX_FILE_BYTES;
  const matches: Array<Record<string, unknown>> = [];
  let visited = 0;
  const search = async (file: string): Promise<void> => {
    if (++visited > maxVisited) throw nativeError(tool, 'InvalidArgument', 'traversal limit exceeded', { limit: maxVisited });
    const stats = await lstat(file).catch(() => undefined);
    if (!stats || !stats.isFile() || stats.size > maxBytes) return;
    const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
      const code = error.code === 'EACCES' || error.code === 'EPERM' ? 'PermissionDenied' : 'Internal';
      throw nativeError(tool, code, `failed to open file: ${error.message}`, { path: virtualPath(root, file) });
    });
    let data: Buffer;
    try {
      data = await readSmall(handle, maxBytes);
    } finally {
      await handle.close();
    }
    if (isBinary(data.subarray(0, BINARY_SAMPLE_BYTES))) return;
    const rel = virtualPath(root, file);
    for (const [index, line] of lines(data.toString('utf8')).entries()) {
      for (const match of line.matchAll(re)) {
        if (matches.length >= maxResults) return;
        matches.push({ file: rel, line: index + 1, column: Buffer.byteLength(line.slice(0, match.index)) + 1, text: line.trim() });
      }
    }
  };
  if (!info.isDirectory()) {
    await search(target);
    return { matches };
  }
  for await (const { full, entry } of walk(tool, roots, root, target, input.recursive === true)) {
    if (entry.isDirectory()) continue;
    await search(full);
    if (matches.length >= maxResults) break;
  }
  return { matches };
}

/**
 * cp__delete_file (Go filesystem/delete_file.go): a file, or a folder with recursive: true;
 * {success: false} when there is nothing at the path. Symbolic links (the path or a folder on the
 * way) are refused, and so are a root itself and a folder that holds the state folder.
 */
export async function deleteFile(roots: Roots, input: { path: string; recursive?: boolean }): Promise<Record<string, unknown>> {
  const tool = 'cp__delete_file';
  const { path, root } = await roots.resolve(tool, input.path, 'path');
  await Roots.rejectParentSymlinks(tool, root, path, input.path);
  if (roots.roots.includes(path)) throw nativeError(tool, 'PermissionDenied', `"${input.path}" is an allowed root, which is never deleted`, { path: input.path });
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw nativeError(tool, 'Internal', `failed to stat path: ${error.message}`, { path: input.path });
  });
  if (!info) return { success: false };
  if (info.isSymbolicLink()) throw nativeError(tool, 'PermissionDenied', `"${input.path}" is a symbolic link`, { path: input.path });
  if (info.isDirectory()) {
    if (!input.recursive) throw nativeError(tool, 'InvalidArgument', 'recursive flag required for directory deletion', { path: input.path });
    if (await roots.holdsProtected(path)) throw nativeError(tool, 'PermissionDenied', `"${input.path}" holds the project's state folder, which the built-in tools never delete`, { path: input.path });
  }
  await rm(path, { recursive: info.isDirectory() }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EACCES' || error.code === 'EPERM') throw nativeError(tool, 'PermissionDenied', error.message, { path: input.path });
    throw nativeError(tool, 'Internal', `failed to delete: ${error.message}`, { path: input.path });
  });
  return { success: true };
}
