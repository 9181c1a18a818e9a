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

const within = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);

/** The real path of `path`; for a path that does not exist yet, its nearest existing ancestor's real path joined with the rest. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}

/**
 * `grant` without `excluded` (a path strictly inside it): Node cannot exclude a subfolder from a
 * grant, so the grant is replaced by every entry beside the way down to `excluded`, as they are now.
 */
function without(grant: string, realGrant: string, excluded: string): string[] {
  const pieces: string[] = [];
  let dir = grant;
  for (const step of relative(realGrant, excluded).split(sep)) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      // An unreadable folder: nothing in it can be read by the tool either.
    }
    pieces.push(...entries.filter((entry) => entry !== step).map((entry) => join(dir, entry)));
    dir = join(dir, step);
  }
  return pieces;
}

const PROC = '/proc';

/**
 * /proc without its process folders (and `self`, `thread-self`): each holds magic links to a process's
 * cwd, root and open files (`/proc/self/cwd/.compozy/…`, `/proc/<serve>/fd/…`), which Node would let
 * a tool follow like any symlink. The rest (cpuinfo, meminfo, sys…) stays.
 */
function procWithoutProcesses(grant: string): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(PROC);
  } catch {
    return [];
  }
  return entries.filter((entry) => !/^\d+$/.test(entry) && entry !== 'self' && entry !== 'thread-self').map((entry) => join(grant, entry));
}

/** The grant's pieces once every protected path, and /proc's process folders, are taken out of it. */
function narrowed(grant: string, protectedReal: readonly string[]): string[] {
  let pieces = [grant];
  const proc = existsSync(join(PROC, 'self')) ? [PROC] : [];
  for (const excluded of [...protectedReal, ...proc]) {
    pieces = pieces.flatMap((piece) => {
      const real = realPath(piece);
      if (!within(excluded, real)) return [piece];
      const beside = excluded === real ? [] : without(piece, real, excluded);
      return excluded === PROC ? [...beside, ...procWithoutProcesses(join(piece, relative(real, PROC)))] : beside;
    });
  }
  return pieces;
}

interface Found {
  links: Array<{ path: string; root: string }>;
  /** Regular files with more than one name, outside node_modules/: their names seen in the grants. */
  inodes: Map<string, { nlink: number; names: Set<string> }>;
}

/** Walks the granted trees without following links: each symbolic link, and each file with several hard links. */
function walk(roots: readonly string[]): Found {
  const found: Found = { links: [], inodes: new Map() };
  const visit = (path: string, root: string, inModules: boolean) => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    if (stat.isSymbolicLink()) {
      if (path !== root) found.links.push({ path, root });
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
    let entries: string[] = [];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const entry of entries) visit(join(path, entry), root, inModules || entry === 'node_modules');
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

/**
 * The Node flags for `plan`, from the file system as it is now. Every grant is taken by its real
 * path as well as the path written; a relative grant whose real path leaves the project is refused
 * (write its absolute path to mean it); the protected paths are never granted (a grant that covers
 * one is narrowed to the entries beside it, and one inside one is refused). Node follows symbolic
 * links and cannot tell a hard link from any other file, so the granted trees (not a grant of every
 * path, which cannot be walked) are searched first: a symbolic link that leads outside what its kind
 * of grant allows, or into a protected path, a file with a hard link outside the granted trees (not
 * counted under node_modules/, where package managers hard-link from their store), and a protected
 * file with a hard link anywhere are refused with CONFIG_INVALID. A tool cannot make new links of
 * its own: Node needs full read and write access for a symbolic link (never granted once anything is
 * protected) and read access to the target for a hard link.
 */
export function sandboxFlags(plan: PermissionPlan, paths: SandboxPaths): string[] {
  if (plan.unrestricted) return [];
  const project = realPath(paths.projectDir);
  const protectedReal = paths.protectedPaths.map(realPath);
  const protectedBy = (real: string) => protectedReal.find((dir) => within(real, dir));

  const granted = (value: string, flag: string): string[] => {
    const lexical = resolve(paths.projectDir, value);
    const real = realPath(lexical);
    if (!isAbsolute(value) && !within(real, project)) {
      throw refused(`runtime.permissions ${flag}=${value} resolves to ${real}, outside the project ${project}.`, `A relative grant stays inside the project; write the absolute path (${real}) to grant it on purpose.`);
    }
    const inside = protectedBy(real);
    if (inside) throw refused(`runtime.permissions ${flag}=${value} grants ${real}, inside ${inside}, the project's state (execution store, KV, logs), which tools are never given.`, 'Remove the grant; tools keep their files elsewhere in the project.');
    return [...new Set([lexical, real])];
  };
  // The fixed grants also count as written paths: the project and compozy, by real and written path.
  const fixed = paths.alwaysReadable.flatMap((dir) => [...new Set([resolve(dir), realPath(dir)])]);
  const read = plan.read === 'all' ? ['/'] : [...fixed, ...plan.read.flatMap((value) => granted(value, '--allow-read'))];
  const write = plan.write === 'all' ? ['/'] : plan.write.flatMap((value) => granted(value, '--allow-write'));
  const readPieces = [...new Set(plan.read === 'all' ? [...narrowed('/', protectedReal), ...fixed.flatMap((dir) => narrowed(dir, protectedReal))] : read.flatMap((dir) => narrowed(dir, protectedReal)))];
  const writePieces = [...new Set(write.flatMap((dir) => narrowed(dir, protectedReal)))];

  // The trees to search: the pieces of written grants (inside the project, always), by real path, each once.
  const searched = (pieces: readonly string[], all: boolean) => {
    const roots = [...new Set((all ? pieces.filter((piece) => fixed.some((dir) => within(realPath(piece), realPath(dir)))) : pieces).map(realPath))];
    return roots.filter((root) => !roots.some((other) => other !== root && within(root, other)));
  };
  const readRoots = searched(readPieces, plan.read === 'all');
  const writeRoots = searched(writePieces, plan.write === 'all');
  const realPieces = (pieces: readonly string[]) => pieces.map(realPath);
  const readable = realPieces(readPieces);
  const writable = realPieces(writePieces);
  const found = walk([...new Set([...readRoots, ...writeRoots])]);
  for (const { path, root } of found.links) {
    const target = linkTarget(path);
    const inside = protectedBy(target);
    const allowed = [...(readRoots.includes(root) ? [readable] : []), ...(writeRoots.includes(root) ? [writable] : [])];
    if (inside || !allowed.every((set) => set.some((dir) => within(target, dir)))) {
      throw refused(
        `${path} is a symbolic link to ${target}, ${inside ? `inside ${inside}, the project's state, which tools are never given` : 'outside what runtime.permissions grant'}; a tool could reach it through the link.`,
        inside ? `Remove the link (rm ${path}).` : `Remove the link (rm ${path}), or grant ${target} explicitly in runtime.permissions.`,
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
