import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { CompozyError } from '../errors.js';
import type { Project } from './project.js';
import { isValidDuration } from './duration.js';
import { parseRateLimit, RATE_LIMIT_DEFAULTS, type RateLimitSettings } from './rate-limit-settings.js';

export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Setting<T> {
  value: T;
  source: Source;
  /** Which flag, variable or key it came from, e.g. `SERVER_PORT` or `server.port`. */
  origin: string;
}

export type Mode = 'standalone' | 'distributed';

export interface AppSettings {
  mode: Setting<Mode>;
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
  host?: string | undefined;
  port?: string | number | undefined;
  temporalBin?: string | undefined;
  temporalAddress?: string | undefined;
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

function pick<T>(candidate: Candidate, env: NodeJS.ProcessEnv, document: Record<string, unknown>, fallback: T, parse: (raw: unknown, origin: string) => T): Setting<T> {
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
    if (text === 'true' || text === '1') return 'standalone';
    if (text === 'false' || text === '0') return 'distributed';
  }
  if (text === 'standalone' || text === 'distributed') return text;
  throw new CompozyError('CONFIG_INVALID', `${origin} must be "standalone" or "distributed", got ${JSON.stringify(raw)}.`, {
    hint: 'Use --mode standalone (embedded Temporal, SQLite) or --mode distributed (Temporal cluster, Redis, Postgres).',
  });
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

/** Effective settings with their sources: flags > environment > compozy.yaml > defaults. */
export function loadSettings(project: Pick<Project, 'document'>, flags: SettingFlags = {}, env: NodeJS.ProcessEnv = process.env): AppSettings {
  const doc = project.document;
  const optionalString = (raw: unknown, origin: string): string | undefined => asString(raw, origin);
  return {
    mode: pick({ flag: { name: '--mode', value: flags.mode }, env: ['COMPOZY_MODE', 'STANDALONE_MODE'], file: ['mode'] }, env, doc, 'standalone', asMode),
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
    redisUrl: pick({ env: ['REDIS_URL'], file: ['redis.url'] }, env, doc, undefined, optionalString),
    kvDriver: pick({ env: ['COMPOZY_KV_DRIVER'], file: ['kv.driver'] }, env, doc, undefined, asKvDriver),
    databaseUrl: pick({ env: ['DATABASE_URL', 'DB_CONN_STRING'], file: ['database.url', 'database.conn_string'] }, env, doc, undefined, optionalString),
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
