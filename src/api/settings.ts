import { loadProject } from '../config/project.js';
import { loadSettings, projectEnv, type AppSettings, type Mode, type Setting } from '../config/settings.js';

/** Settings a program gives createCompozy or createTestEnvironment; each wins over the environment and compozy.yaml. */
export interface SettingOverrides {
  mode?: Mode;
  temporal?: {
    /** A running Temporal frontend (host:port); without one, standalone starts an embedded dev server. */
    address?: string;
    namespace?: string;
    taskQueue?: string;
    /** The Temporal CLI binary for the embedded dev server. */
    bin?: string;
  };
  kv?: { driver?: 'sqlite' | 'redis'; redisUrl?: string };
  store?: { driver?: 'sqlite' | 'postgres'; databaseUrl?: string };
}

export interface ResolvedSettings {
  name: string;
  settings: AppSettings;
  env: NodeJS.ProcessEnv;
}

const ORIGIN = 'the programmatic options';

function given<T>(setting: Setting<T>, value: T | undefined, field: string): Setting<T> {
  return value === undefined ? setting : { value, source: 'flag', origin: `${field} in ${ORIGIN}` };
}

/**
 * The project's effective settings as the CLI computes them (environment over compozy.yaml over
 * defaults, the project's .env under the real environment), with the program's own options on top.
 */
export function resolveSettings(dir: string, overrides: SettingOverrides, env: NodeJS.ProcessEnv = process.env): ResolvedSettings {
  const project = loadProject(dir);
  const effectiveEnv = projectEnv(project.dir, env);
  const base = loadSettings(project, {}, effectiveEnv);
  const settings: AppSettings = {
    ...base,
    mode: given(base.mode, overrides.mode, 'mode'),
    temporalAddress: given(base.temporalAddress, overrides.temporal?.address, 'temporal.address'),
    temporalNamespace: given(base.temporalNamespace, overrides.temporal?.namespace, 'temporal.namespace'),
    taskQueue: given(base.taskQueue, overrides.temporal?.taskQueue, 'temporal.taskQueue'),
    temporalBin: given(base.temporalBin, overrides.temporal?.bin, 'temporal.bin'),
    kvDriver: given(base.kvDriver, overrides.kv?.driver, 'kv.driver'),
    redisUrl: given(base.redisUrl, overrides.kv?.redisUrl, 'kv.redisUrl'),
    storeDriver: given(base.storeDriver, overrides.store?.driver, 'store.driver'),
    databaseUrl: given(base.databaseUrl, overrides.store?.databaseUrl, 'store.databaseUrl'),
  };
  return { name: project.name, settings, env: effectiveEnv };
}
