import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../config/project.js';
import type { ProjectConfig } from '../config/types.js';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { CompozyError } from '../errors.js';
import { findOnPath, isExecutableFile } from '../temporal/binary.js';
import { isKnownPermission, permissionDiagnostics, permissionPlan } from './sandbox.js';

export type BunSource = 'flag' | 'env' | 'config' | 'path' | 'package';

export interface ResolvedBun {
  path: string;
  source: BunSource;
}

export interface BunResolveOptions {
  /** A command-line flag's value, when the caller has one. */
  flag?: string | undefined;
  /** runtime.bun_bin from compozy.yaml */
  config?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** The npm platform package of Bun for this machine (the `bun` package lists them as optional dependencies). */
function platformPackage(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch;
  return `@oven/bun-${os}-${arch}`;
}

/** Bun's binary is tens of MB; the `bun` package's bin/bun.exe is a 450-byte shell script until its postinstall replaces it. */
const PLACEHOLDER_MAX_BYTES = 64 * 1024;

/**
 * The binary the `bun` npm dependency installed under `root`'s node_modules: the platform package's
 * bin/bun while it is there (installed with --ignore-scripts), else the `bun` package's bin/bun.exe,
 * which its postinstall replaces with that binary (until then an executable placeholder script that
 * only prints an error, so it is taken only when it is larger than a script).
 */
export function packagedBun(root: string = PACKAGE_ROOT): string | undefined {
  const require = createRequire(join(root, 'package.json'));
  const at = (specifier: string, file: string) => {
    try {
      return join(dirname(require.resolve(specifier)), 'bin', file);
    } catch {
      return undefined;
    }
  };
  const platform = at(`${platformPackage()}/package.json`, process.platform === 'win32' ? 'bun.exe' : 'bun');
  if (platform && isExecutableFile(platform)) return platform;
  const replaced = at('bun/package.json', 'bun.exe');
  return replaced && isExecutableFile(replaced) && statSync(replaced).size > PLACEHOLDER_MAX_BYTES ? replaced : undefined;
}

/**
 * Finds the Bun binary the way the Temporal CLI is found: an explicit path (flag, COMPOZY_BUN_BIN,
 * runtime.bun_bin) → `bun` on PATH → the `bun` npm dependency. An explicit path that is not an
 * executable file is an error, never a reason to look elsewhere.
 */
export function resolveBunBinary(options: BunResolveOptions = {}): ResolvedBun {
  const env = options.env ?? process.env;
  const explicit = options.flag
    ? { path: options.flag, source: 'flag' as const, label: '--bun-bin' }
    : env.COMPOZY_BUN_BIN
      ? { path: env.COMPOZY_BUN_BIN, source: 'env' as const, label: 'COMPOZY_BUN_BIN' }
      : options.config
        ? { path: options.config, source: 'config' as const, label: 'runtime.bun_bin in compozy.yaml' }
        : undefined;
  if (explicit) {
    const path = resolve(explicit.path);
    if (!isExecutableFile(path)) {
      throw new CompozyError('BUN_NOT_FOUND', `${explicit.label} points to ${path}, which is not an executable file.`, {
        hint: `Fix or unset ${explicit.label}; without it compozy uses \`bun\` on PATH or the bun npm package it depends on.`,
      });
    }
    return { path, source: explicit.source };
  }
  const onPath = findOnPath('bun', env);
  if (onPath) return { path: onPath, source: 'path' };
  const packaged = packagedBun();
  if (packaged) return { path: packaged, source: 'package' };
  throw new CompozyError('BUN_NOT_FOUND', 'runtime.type is bun, but no Bun binary was found (not in COMPOZY_BUN_BIN, not on PATH, not in the bun npm package).', {
    hint: 'Reinstall compozy with its dependencies (npm ci, without --ignore-scripts or --omit=optional), install Bun on PATH, or set COMPOZY_BUN_BIN; or write runtime.type: node.',
  });
}

/** What Bun does with a tool process: nothing is restricted (Bun has no permission model), said in full. */
const BUN_ENFORCES_NOTHING = 'Bun has no permission model: tools can read and write every file compozy can (the .compozy/ state folder too), run processes, use the network and the environment, and load native addons';

/**
 * `runtime.permissions` under Bun. A grant narrowed to paths or hosts (`--allow-read=./data`) is refused
 * by name: Bun would not hold it. A grant of a whole capability is accepted (Bun gives it anyway), as
 * are an empty list and --allow-all; `unenforced` names each restriction the list implies by leaving a
 * capability out, which Bun does not enforce. Unknown permissions are refused as under Node.
 */
export function bunPermissionPlan(permissions: readonly string[]): { unenforced: string[] } {
  const plan = permissionPlan(permissions);
  const narrowed = permissions.find((permission) => permission.includes('='));
  if (narrowed) {
    throw new CompozyError('CONFIG_INVALID', `runtime.permissions ${narrowed} cannot be enforced under runtime.type: bun: ${BUN_ENFORCES_NOTHING}.`, {
      hint: 'Write the grant without paths (Bun allows it anyway), or write runtime.type: node, whose permission model holds path grants.',
    });
  }
  if (plan.unrestricted) return { unenforced: [] };
  const granted = new Set(permissions);
  const missing = (flag: string, what: string) => (granted.has(flag) ? [] : [`${what} is not denied (no ${flag})`]);
  return {
    unenforced: [
      ...missing('--allow-read', 'reading files'),
      ...missing('--allow-write', 'writing files'),
      ...missing('--allow-run', 'running processes'),
      ...missing('--allow-net', 'network access'),
      ...missing('--allow-env', 'environment access'),
      ...missing('--allow-ffi', 'loading native addons'),
      'the .compozy/ state folder is not protected',
    ].map((item) => `${item}: Bun has no permission model`),
  };
}

function bunPermissionProblem(permissions: readonly string[]): CompozyError | undefined {
  try {
    bunPermissionPlan(permissions);
    return undefined;
  } catch (error) {
    if (error instanceof CompozyError) return error;
    throw error;
  }
}

/** Whether Bun takes this runtime.permissions entry. */
export function isBunPermission(permission: string): boolean {
  return bunPermissionProblem([permission]) === undefined;
}

/**
 * Each runtime.permissions (or bun_permissions) entry the project's runtime refuses, at its place in
 * compozy.yaml: under Bun a grant Bun cannot hold, under Node one the sandbox does not know.
 */
export function runtimePermissionDiagnostics(project: ProjectConfig): ConfigDiagnostic[] {
  if (project.runtime.type !== 'bun') return permissionDiagnostics(project);
  const runtime = (project.file.data as { runtime?: Record<string, unknown> } | null)?.runtime;
  const key = runtime?.bun_permissions !== undefined && runtime.permissions === undefined ? 'bun_permissions' : 'permissions';
  return project.runtime.permissions.flatMap((permission, index) => {
    const problem = bunPermissionProblem([permission]);
    return problem ? [project.file.diagnostic(['runtime', key, index], problem.message.replace('runtime.permissions', `runtime.${key}`), problem.hint)] : [];
  });
}

/** Whether the project's runtime takes this permission entry (the others are diagnostics). */
export function isRuntimePermission(project: ProjectConfig, permission: string): boolean {
  return project.runtime.type === 'bun' ? isBunPermission(permission) : isKnownPermission(permission);
}

/**
 * The hint for an error that says the code used Bun's API where Bun is not the runtime (a project
 * written for the Go engine, whose default runtime is Bun, that does not say runtime.type: bun).
 */
export function bunApiHint(message: string): string | undefined {
  return /\bBun is not defined\b/.test(message) ? "The tools use Bun's API (Bun.write, Bun.file…) but run under Node: set runtime.type: bun in compozy.yaml (compozy's default is node; the Go engine's is bun)." : undefined;
}

/**
 * Bun's flags before the worker script: project .env files are not loaded into the tool's environment
 * (tools get the environment compozy gives them, as under Node).
 */
export const BUN_FLAGS = ['--no-env-file'];
