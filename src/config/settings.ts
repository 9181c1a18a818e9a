import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { parseEnv } from 'node:util';
import { CompozyError } from '../errors.js';
import { stateDir, type Project } from './project.js';
import { isValidDuration } from './duration.js';
import { parseRateLimit, RATE_LIMIT_DEFAULTS, type RateLimitSettings } from './rate-limit-settings.js';

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Setting<T> {
  value: T;
  source: Source;
  /** Which flag, variable or key it came from, e.g. `SERVER_PORT` or `server.port`. */
  origin: string;
}

/**
 * Deployment mode (reference §9.3): `memory` keeps the run's state in a temporary folder removed on exit,
 * `persistent` keeps it in the project's .compozy/ (`standalone` is its old name), `distributed` uses a
 * Temporal cluster, Redis and PostgreSQL.
 */
export type Mode = 'memory' | 'persistent' | 'distributed';
export const MODES: readonly Mode[] = ['memory', 'persistent', 'distributed'];
/** `temporal.mode`: an embedded dev server in memory or on disk, or a `remote` cluster. */
export type TemporalMode = 'memory' | 'persistent' | 'remote';

export interface AppSettings {
  mode: Setting<Mode>;
  /** `temporal.mode` / TEMPORAL_MODE / --temporal-mode; by default remote in distributed mode, else the mode. */
  temporalMode: Setting<TemporalMode>;
  serverHost: Setting<string>;
  serverPort: Setting<number>;
  temporalBin: Setting<string | undefined>;
  temporalAddress: Setting<string | undefined>;
  temporalNamespace: Setting<string>;
  taskQueue: Setting<string>;
  redisUrl: Setting<string | undefined>;
  /** KV adapter; undefined means "by mode" (sqlite standalone, redis distributed). */
  kvDriver: Setting<'sqlite' | 'redis' | undefined>;
  databaseUrl: Setting<string | undefined>;
  /** `database.path`: the SQLite store file (absolute); undefined means compozy.db in the state folder. */
  databasePath: Setting<string | undefined>;
  /** Execution store; undefined means "by mode" (sqlite standalone, postgres distributed). */
  storeDriver: Setting<'sqlite' | 'postgres' | undefined>;
  toolExecutionTimeout: Setting<string>;
  toolPoolSize: Setting<number>;
  structuredOutputRetries: Setting<number>;
  maxNestingDepth: Setting<number>;
  /** Admission limit: executions pending or running before the API answers 429 OVERLOADED; 0 turns it off. */
  maxActiveExecutions: Setting<number>;
  /** API keys required; undefined means "by bind address" (off on loopback, on otherwise; src/server/auth/policy.ts). */
  authEnabled: Setting<boolean | undefined>;
  /** `server.rate_limit`: request budgets per API key (else client address), kept on the KV. */
  rateLimit: Setting<RateLimitSettings>;
}

export interface SettingFlags {
  mode?: string | undefined;
  temporalMode?: string | undefined;
  redisMode?: string | undefined;
  host?: string | undefined;
  port?: string | number | undefined;
  temporalBin?: string | undefined;
  temporalAddress?: string | undefined;
}

/** Set by `compozy dev` for its serve process: the state folder the two share (in memory mode, the supervisor's temporary one). */
export const STATE_DIR_ENV = 'COMPOZY_STATE_DIR';

/**
 * Where this process keeps the run's state: the folder its supervisor gave (COMPOZY_STATE_DIR), else in
 * memory mode a temporary folder removed when the process exits, else the project's .compozy/.
 */
export function runStateDir(project: Pick<Project, 'dir'>, settings: Pick<AppSettings, 'mode'>, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[STATE_DIR_ENV];
  if (given) return given;
  if (settings.mode.value !== 'memory') return stateDir(project);
  const dir = mkdtempSync(join(tmpdir(), 'compozy-memory-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The project's `.env` entries layered under the real environment (which always wins). */
export function projectEnv(projectDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = join(projectDir, '.env');
  if (!existsSync(file)) return { ...env };
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  return { ...fromFile, ...env };
}

function lookup(document: Record<string, unknown>, path: string): unknown {
  let node: unknown = document;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

interface Candidate {
  flag?: { name: string; value: unknown };
  env?: string[];
  file?: string[];
}

/** A setting's parse error says where the value came from: `{key}` of compozy.yaml or the `{env}` variable. */
function located<T>(parse: () => T, where: { key: string } | { env: string }): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof CompozyError) throw new CompozyError(error.code, error.message, { hint: error.hint, details: { ...error.details, ...where } });
    throw error;
  }
}

/** Every compozy.yaml key a setting reads (filled as loadSettings picks them; see settingKeys). */
const READ_KEYS = new Set<string>();

function pick<T>(candidate: Candidate, env: NodeJS.ProcessEnv, document: Record<string, unknown>, fallback: T, parse: (raw: unknown, origin: string) => T): Setting<T> {
  for (const key of candidate.file ?? []) READ_KEYS.add(key);
  if (candidate.flag && candidate.flag.value !== undefined) {
    return { value: parse(candidate.flag.value, candidate.flag.name), source: 'flag', origin: candidate.flag.name };
  }
  for (const name of candidate.env ?? []) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') return { value: located(() => parse(raw, name), { env: name }), source: 'env', origin: name };
  }
  for (const key of candidate.file ?? []) {
    const raw = lookup(document, key);
    if (raw !== undefined && raw !== null) {
      return { value: located(() => parse(raw, `${key} in compozy.yaml`), { key }), source: 'file', origin: key };
    }
  }
  return { value: fallback, source: 'default', origin: 'default' };
}

function asString(raw: unknown, origin: string): string {
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw new CompozyError('CONFIG_INVALID', `${origin} must be a string, got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
  }
  return String(raw);
}

function asPort(raw: unknown, origin: string): number {
  const text = String(raw).trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new CompozyError('CONFIG_INVALID', `${origin} must be a TCP port between 1 and 65535 (or 0 for any free port), got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
  }
  return port;
}

function asMode(raw: unknown, origin: string): Mode {
  const text = String(raw).trim().toLowerCase();
  if (origin === 'STANDALONE_MODE') {
    if (text === 'true' || text === '1') return 'persistent';
    if (text === 'false' || text === '0') return 'distributed';
  }
  if (text === 'standalone') return 'persistent';
  if ((MODES as readonly string[]).includes(text)) return text as Mode;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "memory", "persistent" or "distributed" ("standalone" is persistent), got ${JSON.stringify(raw)}.`, {
    hint: 'memory: embedded Temporal and SQLite in a temporary folder removed on exit; persistent: the same kept in .compozy/; distributed: a Temporal cluster, Redis and PostgreSQL.',
  });
}

function asTemporalMode(raw: unknown, origin: string): TemporalMode {
  const text = String(raw).trim().toLowerCase();
  if (text === 'memory' || text === 'persistent' || text === 'remote') return text;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "memory", "persistent" or "remote", got ${JSON.stringify(raw)}.`, { hint: 'remote needs a Temporal address (--temporal-address or TEMPORAL_HOST_PORT).' });
}

/** `redis.mode` (REDIS_MODE) chooses the KV: distributed is Redis, memory and persistent the embedded SQLite KV. */
function asRedisMode(raw: unknown, origin: string): 'sqlite' | 'redis' {
  const text = String(raw).trim().toLowerCase();
  if (text === 'distributed') return 'redis';
  if (text === 'memory' || text === 'persistent' || text === 'standalone') return 'sqlite';
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "memory", "persistent" or "distributed", got ${JSON.stringify(raw)}.`, { hint: 'distributed uses Redis (REDIS_URL); memory and persistent the embedded SQLite KV.' });
}

function asKvDriver(raw: unknown, origin: string): 'sqlite' | 'redis' {
  if (raw === 'sqlite' || raw === 'redis') return raw;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "sqlite" or "redis", got ${JSON.stringify(raw)}.`, { hint: 'Use kv.driver: sqlite (embedded) or redis (REDIS_URL).' });
}

function asStoreDriver(raw: unknown, origin: string): 'sqlite' | 'postgres' {
  if (raw === 'sqlite' || raw === 'postgres') return raw;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "sqlite" or "postgres", got ${JSON.stringify(raw)}.`, { hint: 'Use database.driver: sqlite (embedded) or postgres (DATABASE_URL).' });
}

function asDuration(raw: unknown, origin: string): string {
  const text = String(raw).trim();
  if (!isValidDuration(text)) throw new CompozyError('CONFIG_INVALID', `${origin} must be a duration such as 60s or 5m, got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
  return text;
}

function asPositiveInt(raw: unknown, origin: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new CompozyError('CONFIG_INVALID', `${origin} must be a positive integer, got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
  return value;
}

function asCount(raw: unknown, origin: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new CompozyError('CONFIG_INVALID', `${origin} must be a whole number ≥ 0, got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
  return value;
}

function asBoolean(raw: unknown, origin: string): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be true or false, got ${JSON.stringify(raw)}.`, { hint: `Fix ${origin}.` });
}

/**
 * The Redis URL: REDIS_URL or redis.url, else one made of `redis.distributed.addr` (host:port, the
 * reference's later form) or `redis.host` / `redis.port` (REDIS_HOST, REDIS_PORT) with `redis.password`
 * and `redis.db`.
 */
function redisUrl(env: NodeJS.ProcessEnv, doc: Record<string, unknown>): Setting<string | undefined> {
  const url = pick({ env: ['REDIS_URL'], file: ['redis.url'] }, env, doc, undefined, asString);
  if (url.value !== undefined) return url;
  const addr = pick({ file: ['redis.distributed.addr'] }, env, doc, undefined, asString);
  const host = pick({ env: ['REDIS_HOST'], file: ['redis.host'] }, env, doc, undefined, asString);
  const port = pick({ env: ['REDIS_PORT'], file: ['redis.port'] }, env, doc, undefined, asPort);
  const password = pick({ env: ['REDIS_PASSWORD'], file: ['redis.password'] }, env, doc, undefined, asString);
  const db = pick({ env: ['REDIS_DB'], file: ['redis.db'] }, env, doc, undefined, asCount);
  if (addr.value === undefined && host.value === undefined && port.value === undefined) return url;
  const where = addr.value ?? `${host.value ?? 'localhost'}:${port.value ?? 6379}`;
  const auth = password.value ? `:${encodeURIComponent(password.value)}@` : '';
  const from = [addr, host, port].find((s) => s.value !== undefined) as Setting<unknown>;
  return { value: `redis://${auth}${where}${db.value ? `/${db.value}` : ''}`, source: from.source, origin: from.origin };
}

/** Effective settings with their sources: flags > environment > compozy.yaml > defaults. */
export function loadSettings(project: Pick<Project, 'document'> & Partial<Pick<Project, 'dir'>>, flags: SettingFlags = {}, env: NodeJS.ProcessEnv = process.env): AppSettings {
  const doc = project.document;
  const optionalString = (raw: unknown, origin: string): string | undefined => asString(raw, origin);
  const mode = pick({ flag: { name: '--mode', value: flags.mode }, env: ['COMPOZY_MODE', 'STANDALONE_MODE'], file: ['mode'] }, env, doc, 'persistent', asMode);
  const redisMode = pick({ flag: { name: '--redis-mode', value: flags.redisMode }, env: ['REDIS_MODE'], file: ['redis.mode'] }, env, doc, undefined, asRedisMode);
  const kvDriver = pick({ env: ['COMPOZY_KV_DRIVER'], file: ['kv.driver'] }, env, doc, undefined, asKvDriver);
  const temporalMode = pick({ flag: { name: '--temporal-mode', value: flags.temporalMode }, env: ['TEMPORAL_MODE'], file: ['temporal.mode'] }, env, doc, mode.value === 'distributed' ? 'remote' : mode.value, asTemporalMode);
  const databasePath = pick({ env: ['DB_PATH'], file: ['database.path'] }, env, doc, undefined, (raw, origin) => {
    const text = asString(raw, origin);
    if (text !== ':memory:') return project.dir === undefined ? text : resolvePath(project.dir, text);
    if (mode.value === 'memory') return undefined;
    throw new CompozyError('CONFIG_INVALID', `${origin} ":memory:" keeps the store only in mode: memory (the mode is ${mode.value}).`, { hint: 'Write mode: memory, or give database.path a file such as ./.compozy/compozy.db.' });
  });
  return {
    mode,
    temporalMode,
    serverHost: pick({ flag: { name: '--host', value: flags.host }, env: ['SERVER_HOST'], file: ['server.host'] }, env, doc, '127.0.0.1', asString),
    serverPort: pick({ flag: { name: '--port', value: flags.port }, env: ['SERVER_PORT'], file: ['server.port'] }, env, doc, 5001, asPort),
    temporalBin: pick({ flag: { name: '--temporal-bin', value: flags.temporalBin }, file: ['temporal.bin'] }, env, doc, undefined, optionalString),
    temporalAddress: pick(
      { flag: { name: '--temporal-address', value: flags.temporalAddress }, env: ['TEMPORAL_ADDRESS', 'TEMPORAL_HOST_PORT'], file: ['temporal.host_port', 'temporal.address'] },
      env,
      doc,
      undefined,
      optionalString,
    ),
    temporalNamespace: pick({ env: ['TEMPORAL_NAMESPACE'], file: ['temporal.namespace'] }, env, doc, 'default', asString),
    taskQueue: pick({ env: ['TEMPORAL_TASK_QUEUE'], file: ['temporal.task_queue'] }, env, doc, 'compozy', asString),
    redisUrl: redisUrl(env, doc),
    kvDriver: kvDriver.source === 'default' && redisMode.value !== undefined ? redisMode : kvDriver,
    databaseUrl: pick({ env: ['DATABASE_URL', 'DB_CONN_STRING'], file: ['database.url', 'database.conn_string'] }, env, doc, undefined, optionalString),
    databasePath,
    storeDriver: pick({ env: ['COMPOZY_STORE_DRIVER'], file: ['database.driver'] }, env, doc, undefined, asStoreDriver),
    toolExecutionTimeout: pick({ env: ['TOOL_EXECUTION_TIMEOUT'], file: ['runtime.tool_execution_timeout'] }, env, doc, '60s', asDuration),
    toolPoolSize: pick({ env: ['TOOL_POOL_SIZE'], file: ['runtime.pool_size'] }, env, doc, 2, asPositiveInt),
    structuredOutputRetries: pick({ env: ['LLM_STRUCTURED_OUTPUT_RETRIES'], file: ['llm.structured_output_retries'] }, env, doc, 2, asCount),
    maxNestingDepth: pick({ env: ['LIMITS_MAX_NESTING_DEPTH'], file: ['limits.max_nesting_depth'] }, env, doc, 20, asPositiveInt),
    maxActiveExecutions: pick({ env: ['LIMITS_MAX_ACTIVE_EXECUTIONS'], file: ['limits.max_active_executions'] }, env, doc, 1000, asCount),
    authEnabled: pick({ env: ['COMPOZY_AUTH_ENABLED', 'SERVER_AUTH_ENABLED'], file: ['auth.enabled', 'server.auth.enabled'] }, env, doc, undefined, asBoolean),
    rateLimit: pick({ file: ['server.rate_limit'] }, env, doc, RATE_LIMIT_DEFAULTS, parseRateLimit),
  };
}

/** The compozy.yaml keys the settings read, dotted (`server.port`); a key's value may itself be a mapping (`server.rate_limit`). */
export function settingKeys(): ReadonlySet<string> {
  loadSettings({ document: {} }, {}, {});
  return READ_KEYS;
}

/**
 * The settings with each environment variable that does not parse left out, and what it said. `config
 * validate` reports such a variable as a warning about this environment (the files are valid), so
 * `config show` prints the rest instead of failing; dev and serve still refuse to start on it.
 */
export function loadSettingsLeniently(project: Pick<Project, 'document'> & Partial<Pick<Project, 'dir'>>, env: NodeJS.ProcessEnv): { settings: AppSettings; refused: { variable: string; error: CompozyError }[] } {
  const usable = { ...env };
  const refused: { variable: string; error: CompozyError }[] = [];
  for (;;) {
    try {
      return { settings: loadSettings(project, {}, usable), refused };
    } catch (error) {
      const variable = error instanceof CompozyError && error.code === 'CONFIG_INVALID' ? error.details?.env : undefined;
      if (typeof variable !== 'string' || usable[variable] === undefined) throw error;
      refused.push({ variable, error: error as CompozyError });
      delete usable[variable];
    }
  }
}
