import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ProjectConfig } from '../config/types.js';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { CompozyError } from '../errors.js';

/** Variables that change how the runtime itself loads code: never passed to tools, never accepted from config. */
const FORBIDDEN = [/^LD_PRELOAD$/, /^LD_LIBRARY_PATH$/, /^LD_AUDIT$/, /^DYLD_/, /^NODE_OPTIONS$/, /^NODE_PATH$/, /^NODE_REPL_EXTERNAL_MODULE$/, /^UV_THREADPOOL_SIZE$/];

export function isForbiddenVariable(name: string): boolean {
  return FORBIDDEN.some((pattern) => pattern.test(name));
}

/** A tool's own `env`: loader-altering variables in it are an error rather than silently dropped. */
export function checkToolEnv(configured: Readonly<Record<string, string>>, toolId: string): void {
  const rejected = Object.keys(configured).filter(isForbiddenVariable);
  if (rejected.length > 0) {
    throw new CompozyError('TOOL_ENV_REJECTED', `Tool "${toolId}" sets ${rejected.join(', ')}, which could change how the tool runtime loads code.`, {
      hint: 'Remove it from the tool env; tools cannot set LD_*, DYLD_* or NODE_OPTIONS-like variables.',
    });
  }
}

/** The environment a tool process starts with: the inherited one without loader-altering variables. */
export function inheritedToolEnvironment(inherited: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(inherited)) if (!isForbiddenVariable(name) && value !== undefined) env[name] = value;
  return env;
}

/** What `runtime.permissions` asks for, before any path is looked at. */
export interface PermissionPlan {
  /** No permissions listed, or --allow-all: tools run without the permission model. */
  unrestricted: boolean;
  /** Paths as written (absolute, or relative to the project); 'all' for the flag without paths. */
  read: string[] | 'all';
  write: string[] | 'all';
  childProcess: boolean;
  addons: boolean;
  /** Restrictions the configuration implies but Node cannot enforce, said out loud rather than ignored. */
  unenforced: string[];
}

/**
 * Reads `runtime.permissions` (Deno/Bun style, as Compozy projects write them). Node 24 can restrict
 * file reads and writes, child processes, workers, addons and WASI; it cannot restrict network or
 * environment access, which `unenforced` says.
 */
export function permissionPlan(permissions: readonly string[]): PermissionPlan {
  const plan: PermissionPlan = { unrestricted: permissions.length === 0, read: [], write: [], childProcess: false, addons: false, unenforced: [] };
  const add = (current: string[] | 'all', value: string | undefined): string[] | 'all' => (current === 'all' || value === undefined ? 'all' : [...current, ...value.split(',')]);
  for (const permission of permissions) {
    const [name, value] = permission.split('=', 2) as [string, string | undefined];
    switch (name) {
      case '--allow-read':
        plan.read = add(plan.read, value);
        break;
      case '--allow-write':
        plan.write = add(plan.write, value);
        break;
      case '--allow-run':
        plan.childProcess = true;
        break;
      case '--allow-ffi':
        plan.addons = true;
        break;
      case '--allow-all':
      case '-A':
        plan.unrestricted = true;
        break;
      case '--allow-net':
      case '--allow-env':
      case '--allow-sys':
      case '--allow-hrtime':
        // Always allowed under Node's model; nothing to grant.
        break;
      default:
        throw new CompozyError('CONFIG_INVALID', `Unknown runtime permission "${permission}".`, {
          hint: 'Use --allow-read[=paths], --allow-write[=paths], --allow-run, --allow-ffi, --allow-net, --allow-env or --allow-all.',
        });
    }
  }
  if (plan.unrestricted) return { ...plan, unenforced: [] };
  const granted = new Set(permissions.map((p) => p.split('=', 1)[0]));
  plan.unenforced = [
    ...(granted.has('--allow-net') ? [] : ['network access is not denied (Node has no network permission)']),
    ...(granted.has('--allow-env') ? [] : ['environment access is not denied (Node has no environment permission)']),
  ];
  return plan;
}

export interface SandboxPaths {
  projectDir: string;
  /** Readable whatever the permissions say (the project's code, compozy's own files). */
  alwaysReadable: readonly string[];
  /** Never granted, read or write, even under a grant that covers them: the state folder (store, KV, logs). */
  protectedPaths: readonly string[];
}

const refused = (message: string, hint: string) => new CompozyError('CONFIG_INVALID', message, { hint });

/** Whether `path` is `dir` or inside it (lexically). */
export const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/** The real path of `path`; for a path that does not exist yet, its nearest existing ancestor's real path joined with the rest. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}

const PROC = '/proc';
const HAS_PROC = existsSync(join(PROC, 'self'));

/** /proc's process folders (and `self`, `thread-self`) hold magic links to a process's cwd, root and open files. */
const isProcessEntry = (name: string) => /^\d+$/.test(name) || name === 'self' || name === 'thread-self';

/** Whether `real` is /proc's process folders or inside one. */
function inProcesses(real: string): boolean {
  if (!HAS_PROC || !within(real, PROC) || real === PROC) return false;
  return isProcessEntry(relative(PROC, real).split(sep)[0] as string);
}

/** The characters a Node grant pattern can end on before its `*`: printable ASCII without `/` and `*` itself. */
const NAME_CHARS = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => c !== '/' && c !== '*');
const NAME_SET = new Set(NAME_CHARS);

interface Trie {
  children: Map<string, Trie>;
}

function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    // An unreadable folder: nothing in it can be read by the tool either.
    return [];
  }
}

/**
 * Grants for every entry of `dir` except the `excluded` names, now and later: Node cannot take a
 * subfolder out of a grant, but it takes a trailing `*` as "any path with this prefix", so each name
 * that leaves the excluded names at some character is covered by the prefix up to that character
 * plus `*`, and each proper prefix of an excluded name by itself. Existing entries that leave at a
 * character no pattern can name (non-ASCII) are granted by name; a `*` in `dir` or in an excluded
 * name would make Node read a pattern, so such a level gets its existing entries only, and an entry
 * whose name has a `*` is not granted.
 */
function besides(dir: string, excluded: readonly string[]): string[] {
  const exact = new Set(excluded);
  const existing = entriesOf(dir).filter((entry) => !exact.has(entry) && !entry.includes('*'));
  if (dir.includes('*') || excluded.some((name) => name.includes('*'))) return existing.map((entry) => join(dir, entry));
  const root: Trie = { children: new Map() };
  for (const name of excluded) {
    let node = root;
    for (const char of name) {
      const next = node.children.get(char) ?? { children: new Map() };
      node.children.set(char, next);
      node = next;
    }
  }
  const pieces: string[] = [];
  // Not join(): it would turn the names "." and ".." (and so the patterns ".*", "..*") into dir and its parent.
  const at = (name: string) => (dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`);
  const visit = (prefix: string, node: Trie) => {
    const path = at(prefix);
    if (prefix !== '' && prefix !== '.' && prefix !== '..' && !exact.has(prefix)) pieces.push(path);
    for (const char of NAME_CHARS) if (!node.children.has(char)) pieces.push(path + char + '*');
    for (const [char, child] of node.children) visit(prefix + char, child);
  };
  visit('', root);
  const covered = (entry: string) => {
    let node = root;
    for (const char of entry) {
      const next = node.children.get(char);
      if (!next) return NAME_SET.has(char);
      node = next;
    }
    return true;
  };
  return [...pieces, ...existing.filter((entry) => !covered(entry)).map(at)];
}

/**
 * `grant` (real path `real`) without the `excluded` real paths strictly inside it: the grant is
 * replaced, level by level down to each excluded path, by the entries beside the way down. /proc, when
 * excluded, comes back without its process folders; no new entries appear there but processes.
 */
function complement(grant: string, real: string, excluded: readonly string[]): string[] {
  const below = new Map<string, string[]>();
  for (const path of excluded) {
    const [name, ...rest] = relative(real, path).split(sep) as [string, ...string[]];
    const list = below.get(name) ?? [];
    if (rest.length > 0) list.push(path);
    below.set(name, list);
  }
  const pieces = besides(grant, [...below.keys()]);
  for (const [name, deeper] of below) {
    const path = join(real, name);
    if (deeper.length > 0) pieces.push(...complement(join(grant, name), path, deeper));
    else if (path === PROC) pieces.push(...narrowed(join(grant, name), [PROC]));
  }
  return pieces;
}

/** The grant's pieces once the protected paths, and /proc's process folders, are taken out of it. */
function narrowed(grant: string, excludedReal: readonly string[]): string[] {
  const real = realPath(grant);
  const inside = excludedReal.filter((path) => within(path, real));
  if (inside.length === 0) return [grant];
  if (inside.includes(real)) return real === PROC ? entriesOf(PROC).filter((entry) => !isProcessEntry(entry)).map((entry) => join(grant, entry)) : [];
  return complement(grant, real, inside);
}

interface Found {
  links: string[];
  /** Regular files with more than one name, outside node_modules/: their names seen in the grants. */
  inodes: Map<string, { nlink: number; names: Set<string> }>;
}

/** Walks the granted trees without following links, and without entering `skipped`: each symbolic link, and each file with several hard links. */
function walk(roots: readonly string[], skipped: readonly string[] = []): Found {
  const found: Found = { links: [], inodes: new Map() };
  const visit = (path: string, root: string, inModules: boolean) => {
    if (skipped.includes(path)) return;
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (stat.isSymbolicLink()) {
      if (path !== root) found.links.push(path);
      return;
    }
    if (stat.isFile()) {
      if (stat.nlink > 1 && !inModules) {
        const inode = `${stat.dev}:${stat.ino}`;
        const entry = found.inodes.get(inode) ?? { nlink: stat.nlink, names: new Set<string>() };
        entry.names.add(path);
        found.inodes.set(inode, entry);
      }
      return;
    }
    if (!stat.isDirectory()) return;
    // The path is normalized and an entry is a plain name: joined by hand, not by join(), which normalizes again (most of the walk's time).
    const parent = path.endsWith(sep) ? path : `${path}${sep}`;
    for (const entry of entriesOf(path)) visit(parent + entry, root, inModules || entry === 'node_modules');
  };
  for (const root of roots) visit(root, root, root.split(sep).includes('node_modules'));
  return found;
}

/** Where a symbolic link leads: its real path, or for a dangling one, where it would lead once its target exists. */
function linkTarget(link: string): string {
  try {
    return realpathSync(link);
  } catch {
    try {
      return realPath(resolve(dirname(link), readlinkSync(link)));
    } catch {
      return link;
    }
  }
}

/** The outermost of these real paths, each once. */
function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)];
  return unique.filter((path) => !unique.some((other) => other !== path && within(path, other)));
}

/**
 * The Node flags for `plan`, from the file system as it is now. Every grant is taken by its real
 * path as well as the path written; a relative grant whose real path leaves the project is refused
 * (write its absolute path to mean it); a `*` in a grant is refused (Node would read it as a
 * pattern). The protected paths are never granted: a grant inside one is refused, and a grant that
 * covers one (or covers /proc, whose process folders link to every process's cwd and files) is
 * narrowed to the entries beside the way down to it (`besides`). Node follows symbolic links and
 * cannot tell a hard link from any other file, so the granted trees are searched first (the fixed
 * ones and each path grant; a grant of every path cannot be walked): a symbolic link that leads
 * outside what its kind of grant allows, into a protected path or to a folder holding one, a file
 * with a hard link outside the granted trees (not counted under node_modules/, where package managers
 * hard-link from their store), and a protected file with a hard link anywhere are refused with
 * CONFIG_INVALID. A tool cannot make new links of its own: Node needs full read and write access for
 * a symbolic link (never granted once anything is protected) and read access to the target for a
 * hard link.
 */
export function sandboxFlags(plan: PermissionPlan, paths: SandboxPaths): string[] {
  if (plan.unrestricted) return [];
  const project = realPath(paths.projectDir);
  const protectedReal = paths.protectedPaths.map(realPath);
  const excludedReal = [...protectedReal, ...(HAS_PROC ? [PROC] : [])];
  const protectedBy = (real: string) => protectedReal.find((dir) => within(real, dir));

  const granted = (value: string, flag: string): string[] => {
    if (value.includes('*')) throw refused(`runtime.permissions ${flag}=${value} has a "*"; grants are paths, not patterns.`, 'Grant the folder itself.');
    const lexical = resolve(paths.projectDir, value);
    const real = realPath(lexical);
    if (!isAbsolute(value) && !within(real, project)) {
      throw refused(`runtime.permissions ${flag}=${value} resolves to ${real}, outside the project ${project}.`, `A relative grant stays inside the project; write the absolute path (${real}) to grant it on purpose.`);
    }
    const inside = protectedBy(real);
    if (inside) throw refused(`runtime.permissions ${flag}=${value} grants ${real}, inside ${inside}, the project's state (execution store, KV, logs), which tools are never given.`, 'Remove the grant; tools keep their files elsewhere in the project.');
    return [...new Set([lexical, real])];
  };
  // The fixed grants count as written paths: the project and compozy's files, by real and written path.
  const fixed = paths.alwaysReadable.flatMap((dir) => [...new Set([resolve(dir), realPath(dir)])]);
  const read = [...(plan.read === 'all' ? ['/'] : []), ...fixed, ...(plan.read === 'all' ? [] : plan.read.flatMap((value) => granted(value, '--allow-read')))];
  const write = plan.write === 'all' ? ['/'] : plan.write.flatMap((value) => granted(value, '--allow-write'));
  // A grant of every path is narrowed the same way for reads and writes: once.
  const narrowings = new Map<string, string[]>();
  const pieces = (grant: string): string[] => {
    let found = narrowings.get(grant);
    if (!found) narrowings.set(grant, (found = narrowed(grant, excludedReal)));
    return found;
  };
  const readPieces = [...new Set(read.flatMap(pieces))];
  const writePieces = [...new Set(write.flatMap(pieces))];

  // The trees searched: every written grant (for a grant of every path, the fixed ones), by real path.
  const fixedReal = fixed.map(realPath);
  const readRoots = outermost(plan.read === 'all' ? fixedReal : read.map(realPath));
  const writeRoots = outermost(plan.write === 'all' ? fixedReal.filter((dir) => within(dir, project)) : write.map(realPath));
  const allows = (grants: readonly string[], all: boolean) => {
    const real = grants.map(realPath);
    return (target: string) => all || real.some((dir) => within(target, dir));
  };
  const readable = allows(read, plan.read === 'all');
  const writable = allows(write, plan.write === 'all');
  const found = walk(outermost([...readRoots, ...writeRoots]), excludedReal);
  for (const path of found.links) {
    const target = linkTarget(path);
    const into = protectedBy(target) ?? (inProcesses(target) ? target : undefined) ?? excludedReal.find((dir) => within(dir, target));
    const underRead = readRoots.some((dir) => within(path, dir));
    const underWrite = writeRoots.some((dir) => within(path, dir));
    if (into || (underRead && !readable(target)) || (underWrite && !writable(target))) {
      throw refused(
        `${path} is a symbolic link to ${target}, ${into ? (within(target, into) ? `inside ${into}, which tools are never given` : `which holds ${into}, which tools are never given`) : 'outside what runtime.permissions grant'}; a tool could reach it through the link.`,
        into ? `Remove the link (rm ${path}).` : `Remove the link (rm ${path}), or grant ${target} explicitly in runtime.permissions.`,
      );
    }
  }
  for (const { nlink, names } of found.inodes.values()) {
    if (names.size >= nlink) continue;
    const [name] = [...names];
    throw refused(`${name} is a hard link: the file has ${nlink} names and ${nlink - names.size} of them lie outside the granted paths, so a tool could read or change that file through it.`, `Replace it with a copy of the file, or grant the folder that holds its other name explicitly (find it with: find / -xdev -samefile ${name}).`);
  }
  for (const dir of protectedReal) {
    const shared = [...walk([dir]).inodes.values()].find((entry) => entry.nlink > entry.names.size);
    if (shared) {
      const [name] = [...shared.names];
      throw refused(`${name} has another name elsewhere (a hard link), through which a tool could reach the project's state.`, `Remove the other link to ${name}; find it with: find / -xdev -samefile ${name}`);
    }
  }
  return [
    '--permission',
    ...readPieces.map((piece) => `--allow-fs-read=${piece}`),
    ...writePieces.map((piece) => `--allow-fs-write=${piece}`),
    ...(plan.childProcess ? ['--allow-child-process'] : []),
    ...(plan.addons ? ['--allow-addons'] : []),
  ];
}

function permissionProblem(permission: string): CompozyError | undefined {
  try {
    permissionPlan([permission]);
    return undefined;
  } catch (error) {
    if (error instanceof CompozyError) return error;
    throw error;
  }
}

export function isKnownPermission(permission: string): boolean {
  return permissionProblem(permission) === undefined;
}

/** Each `runtime.permissions` entry the tool runtime would refuse, at its place in compozy.yaml. */
export function permissionDiagnostics(project: ProjectConfig): ConfigDiagnostic[] {
  return project.runtime.permissions.flatMap((permission, index) => {
    const problem = permissionProblem(permission);
    return problem ? [project.file.diagnostic(['runtime', 'permissions', index], problem.message, problem.hint)] : [];
  });
}
