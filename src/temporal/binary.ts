import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { CompozyError, errorMessage } from '../errors.js';
import { TEMPORAL_CLI_VERSION } from './cli-version.js';
import { installTemporalCli, type InstallProgress } from './install.js';


export type BinarySource = 'flag' | 'env' | 'config' | 'path' | 'cache' | 'installed';

export interface ResolvedBinary {
  path: string;
  source: BinarySource;
  /** Version the binary reports for itself, e.g. "1.5.1". */
  version: string;
}

export interface ResolveOptions {
  /** `--temporal-bin` */
  flag?: string | undefined;
  /** `temporal.bin` from the project configuration */
  config?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Install into the cache when no binary is found; otherwise fail with how to get one. */
  install?: boolean;
  onProgress?: InstallProgress;
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'compozy', 'temporal');
}

export function cachedBinaryPath(env: NodeJS.ProcessEnv = process.env, version = TEMPORAL_CLI_VERSION): string {
  return join(cacheRoot(env), version, 'temporal');
}

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function binaryVersion(path: string): Promise<string> {
  let stdout: string;
  try {
    const { execa } = await import('execa');
    ({ stdout } = await execa(path, ['--version'], { timeout: 15_000 }));
  } catch (error) {
    throw new CompozyError('TEMPORAL_BINARY_NOT_FOUND', `${path} did not run as the Temporal CLI: ${errorMessage(error)}`, {
      hint: 'Point COMPOZY_TEMPORAL_BIN (or --temporal-bin) at a working `temporal` binary, or unset it to use the cached build.',
    });
  }
  const match = /version\s+v?([0-9][^\s(]*)/i.exec(stdout);
  if (!match?.[1]) {
    throw new CompozyError('TEMPORAL_BINARY_NOT_FOUND', `${path} does not look like the Temporal CLI (\`--version\` printed "${stdout.trim()}")`, {
      hint: 'Point COMPOZY_TEMPORAL_BIN (or --temporal-bin) at the `temporal` CLI binary.',
    });
  }
  return match[1];
}

function explicitSource(options: ResolveOptions, env: NodeJS.ProcessEnv): { path: string; source: BinarySource; label: string } | undefined {
  if (options.flag) return { path: options.flag, source: 'flag', label: '--temporal-bin' };
  if (env.COMPOZY_TEMPORAL_BIN) return { path: env.COMPOZY_TEMPORAL_BIN, source: 'env', label: 'COMPOZY_TEMPORAL_BIN' };
  if (options.config) return { path: options.config, source: 'config', label: 'temporal.bin in compozy.yaml' };
  return undefined;
}

/**
 * Finds the Temporal CLI: an explicit path (flag, env, config) → `temporal` on PATH → the per-version
 * cache → an install into that cache. An explicit path that does not work is an error, never a reason
 * to look elsewhere.
 */
export async function resolveTemporalBinary(options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const explicit = explicitSource(options, env);
  if (explicit) {
    const path = resolve(explicit.path);
    if (!isExecutableFile(path)) {
      throw new CompozyError('TEMPORAL_BINARY_NOT_FOUND', `${explicit.label} points to ${path}, which is not an executable file.`, {
        hint: `Fix or unset ${explicit.label}; without it compozy uses \`temporal\` on PATH or builds one into ${cacheRoot(env)}.`,
      });
    }
    // The per-version cache compozy installs into names its version, as the `cache` source below trusts:
    // no `--version` run (a 250 MB binary to start, ~0.3 s of every dev and cold run under load here).
    const known = path === resolve(cachedBinaryPath(env)) && TEMPORAL_CLI_VERSION;
    return { path, source: explicit.source, version: known || (await binaryVersion(path)) };
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return { path: onPath, source: 'path', version: await binaryVersion(onPath) };

  const cached = cachedBinaryPath(env);
  if (isExecutableFile(cached)) return { path: cached, source: 'cache', version: TEMPORAL_CLI_VERSION };

  if (!options.install) {
    throw new CompozyError('TEMPORAL_BINARY_NOT_FOUND', `The Temporal CLI was not found (not on PATH, not in ${cached}).`, {
      hint: 'Run `compozy temporal install` (downloads the release, or builds it with Go offline), or set COMPOZY_TEMPORAL_BIN.',
    });
  }
  const installed = await installTemporalCli({ env, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  return { path: installed.path, source: installed.fresh ? 'installed' : 'cache', version: TEMPORAL_CLI_VERSION };
}
