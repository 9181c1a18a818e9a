import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/project.js';
import type { AppSettings } from '../config/settings.js';
import { CompozyError } from '../errors.js';
import { requireUsableKey } from '../server/auth/guard.js';
import { authDecision } from '../server/auth/policy.js';
import type { Supervisor, SupervisorOptions } from '../supervisor/supervisor.js';
import { resolveTemporalBinary, type ResolvedBinary } from '../temporal/binary.js';
import { openProject, type ProjectContext } from './project-context.js';

export interface PlatformFlags {
  port?: string;
  host?: string;
  mode?: string;
  temporalMode?: string;
  redisMode?: string;
  temporalBin?: string;
  temporalUi?: boolean;
  verbose?: boolean;
  /** Reload the project in serve when its files change (dev's default; false with --no-watch). */
  watch?: boolean;
}

export type PlatformIo = Pick<SupervisorOptions, 'narrate' | 'emit' | 'showHealth' | 'showStartLines' | 'logOut' | 'color'>;

/**
 * With API keys required (a non-loopback API, or auth.enabled), a store without a usable key is refused
 * here, before any child starts; serve would refuse the same way, only after Temporal was up.
 */
export async function refuseWithoutKey(settings: AppSettings, stateDir: string): Promise<void> {
  const decision = authDecision(settings, settings.serverHost.value);
  if (!decision.enabled) return;
  const { openStore } = await import('../server/open-store.js');
  const store = await openStore(settings, stateDir);
  try {
    await requireUsableKey(store.apiKeys, decision);
  } finally {
    await store.close();
  }
}

/** The embedded platform (dev, a cold run) runs in memory or persistent mode only. */
export function requireEmbeddedMode(settings: AppSettings): void {
  if (settings.mode.value === 'distributed' || settings.temporalMode.value === 'remote') {
    const what = settings.mode.value === 'distributed' ? `the mode is "distributed" (from ${settings.mode.origin})` : `temporal.mode is "remote" (from ${settings.temporalMode.origin})`;
    throw new CompozyError('USAGE', `The embedded platform runs in memory or persistent mode, but ${what}.`, {
      hint: 'Use `compozy start` for distributed mode, or set the mode to memory or persistent.',
    });
  }
}

/** The Temporal CLI the embedded platform runs: --temporal-bin, temporal.bin, then the resolver's own order (an install when none is found). */
export function resolvePlatformTemporal(settings: AppSettings): Promise<ResolvedBinary> {
  return resolveTemporalBinary({
    flag: settings.temporalBin.source === 'flag' ? settings.temporalBin.value : undefined,
    config: settings.temporalBin.source === 'file' ? settings.temporalBin.value : undefined,
    install: true,
    onProgress: (event) => process.stderr.write(`${event.message}\n`),
  });
}

/**
 * `compozy dev`'s platform, ready to run: the settings checked, the Temporal CLI resolved. The
 * supervisor chooses ports once a killed run's orphans are stopped, and serve binds its own. The
 * project is loaded and validated once, by serve: one that does not validate stops the start with
 * serve's report of its problems (CONFIG_INVALID, exit 2), worded as `compozy config validate` words them.
 */
export async function preparePlatform(projectArg: string | undefined, flags: PlatformFlags, io: PlatformIo): Promise<{ context: ProjectContext; supervisor: Supervisor }> {
  const context = openProject(projectArg, flags);
  const { project, settings, stateDir } = context;
  requireEmbeddedMode(settings);
  await refuseWithoutKey(settings, stateDir);
  const temporal = await resolvePlatformTemporal(settings);
  const { Supervisor } = await import('../supervisor/supervisor.js');
  const supervisor = new Supervisor({
    projectName: project.name,
    projectDir: project.dir,
    stateDir,
    temporalInMemory: settings.temporalMode.value === 'memory',
    mode: settings.mode.value,
    temporalBin: temporal.path,
    temporalVersion: temporal.version,
    temporalUi: Boolean(flags.temporalUi),
    namespace: settings.temporalNamespace.value,
    apiHost: settings.serverHost.value,
    api: { port: settings.serverPort.value, explicit: settings.serverPort.source !== 'default' },
    verbose: Boolean(flags.verbose),
    watch: flags.watch === true,
    serveCommand: { command: process.execPath, args: [join(PACKAGE_ROOT, 'bin', 'compozy.js')] },
    ...io,
  });
  return { context, supervisor };
}
