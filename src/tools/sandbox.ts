import { isAbsolute, resolve } from 'node:path';
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

export interface PermissionPlan {
  /** Node flags for the tool process. */
  flags: string[];
  /** Restrictions the configuration implies but Node cannot enforce, said out loud rather than ignored. */
  unenforced: string[];
}

/**
 * Maps `runtime.permissions` (Deno/Bun style, as Compozy projects write them) onto Node's permission
 * model. With no permissions configured, tools run unrestricted. Node 24 can restrict file reads and
 * writes, child processes, workers, addons and WASI; it cannot restrict network or environment access.
 */
export function permissionFlags(permissions: readonly string[], projectDir: string, alwaysReadable: readonly string[]): PermissionPlan {
  if (permissions.length === 0) return { flags: [], unenforced: [] };
  const flags = ['--permission', ...alwaysReadable.map((path) => `--allow-fs-read=${path}`)];
  const granted = new Set(permissions.map((p) => p.split('=', 1)[0]));
  const unenforced = [
    ...(granted.has('--allow-net') ? [] : ['network access is not denied (Node has no network permission)']),
    ...(granted.has('--allow-env') ? [] : ['environment access is not denied (Node has no environment permission)']),
  ];
  const paths = (value: string | undefined) => (value ? value.split(',').map((p) => (isAbsolute(p) ? p : resolve(projectDir, p))) : ['*']);
  for (const permission of permissions) {
    const [name, value] = permission.split('=', 2) as [string, string | undefined];
    switch (name) {
      case '--allow-read':
        flags.push(...paths(value).map((p) => `--allow-fs-read=${p}`));
        break;
      case '--allow-write':
        flags.push(...paths(value).map((p) => `--allow-fs-write=${p}`));
        break;
      case '--allow-run':
        flags.push('--allow-child-process');
        break;
      case '--allow-ffi':
        flags.push('--allow-addons');
        break;
      case '--allow-all':
      case '-A':
        return { flags: [], unenforced: [] };
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
  return { flags, unenforced };
}

function permissionProblem(permission: string): CompozyError | undefined {
  try {
    permissionFlags([permission], '/', []);
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
