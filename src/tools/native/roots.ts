import { lstat, readdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { within } from '../sandbox.js';
import { nativeError } from './errors.js';

const STATE_FOLDER = '.compozy';

/** The real path of `path`: its deepest existing ancestor resolved through symlinks, plus the rest. */
async function realTarget(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(existing.slice(parent.length).replace(/^[\\/]/, ''));
      existing = parent;
    }
  }
}

/**
 * Where the built-in tools may touch files: root_dir and additional_roots. A path is taken relative to
 * root_dir (or absolute inside a root); it is refused when it leaves every root, lexically or through
 * a symlink, and when it is in the state folder (.compozy/ or the configured one).
 */
export class Roots {
  private real: Promise<{ roots: string[]; protected: string[] }> | undefined;

  constructor(
    readonly roots: readonly string[],
    private readonly protectedPaths: readonly string[],
  ) {}

  private realRoots(): Promise<{ roots: string[]; protected: string[] }> {
    this.real ??= (async () => ({
      roots: await Promise.all(this.roots.map(realTarget)),
      protected: await Promise.all(this.protectedPaths.map(realTarget)),
    }))();
    return this.real;
  }

  /** The absolute path for `value` and the root it is in; PermissionDenied when it is outside or protected. */
  async resolve(tool: string, value: string, field: string, base: string = this.roots[0] as string): Promise<{ path: string; root: string }> {
    if (value.trim() === '') throw nativeError(tool, 'InvalidArgument', `${field} must be provided`, { field });
    const path = isAbsolute(value) ? resolve(value) : resolve(base, value);
    const root = this.roots.find((r) => within(path, r));
    if (!root) throw nativeError(tool, 'PermissionDenied', `${field} "${value}" is outside the allowed roots (${this.roots.join(', ')})`, { [field]: value });
    const real = await realTarget(path);
    const { roots, protected: guarded } = await this.realRoots();
    if (!roots.some((r) => within(real, r))) throw nativeError(tool, 'PermissionDenied', `${field} "${value}" leads outside the allowed roots through a symbolic link`, { [field]: value });
    const segments = relative(root, path).split(sep);
    if (segments.includes(STATE_FOLDER) || [...this.protectedPaths, ...guarded].some((p) => within(path, p) || within(real, p))) {
      throw nativeError(tool, 'PermissionDenied', `${field} "${value}" is in the project's state folder, which the built-in tools never read or write`, { [field]: value });
    }
    return { path, root };
  }

  /** Whether a path found while walking a root is the state folder (not listed). */
  isProtected(path: string): boolean {
    return path.split(sep).includes(STATE_FOLDER) || this.protectedPaths.some((p) => within(path, p));
  }

  /** Whether the folder `dir` holds a state folder (the configured one, or a .compozy/ anywhere below it). */
  async holdsProtected(dir: string): Promise<boolean> {
    if (this.protectedPaths.some((p) => within(p, dir))) return true;
    const below = await readdir(dir, { recursive: true });
    return below.some((rel) => rel.split(sep).includes(STATE_FOLDER));
  }

  /** Go's ensureParentsSafe: PermissionDenied when a folder between the root and `path` is a symbolic link. */
  static async rejectParentSymlinks(tool: string, root: string, path: string, value: string): Promise<void> {
    let current = root;
    for (const part of relative(root, path).split(sep).slice(0, -1)) {
      current = join(current, part);
      await Roots.rejectSymlink(tool, current, value);
    }
  }

  /** PermissionDenied when `path` itself is a symbolic link (the Go engine refuses them). */
  static async rejectSymlink(tool: string, path: string, value: string): Promise<void> {
    const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (stat?.isSymbolicLink()) throw nativeError(tool, 'PermissionDenied', `"${value}" is a symbolic link`, { path: value });
  }
}

/** "/sub/file.txt": a path as the Go engine reports it, relative to its root with a leading separator. */
export function virtualPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === '' ? sep : sep + rel;
}
