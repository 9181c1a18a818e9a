import { CompozyError } from '../errors.js';
import { isValidDuration, parseDuration } from './duration.js';

/** One budget: `requests` per `period`, plus up to `burst` more carried over from a quieter previous period. */
export interface RateLimitRule {
  requests: number;
  /** As written, e.g. "1m". */
  period: string;
  periodMs: number;
  burst: number;
}

/** `server.rate_limit` of compozy.yaml. */
export interface RateLimitSettings extends RateLimitRule {
  enabled: boolean;
  /** Route path prefix (e.g. `/api/v0/workflows`) → its own budget, instead of the global one. */
  perRoute: Record<string, RateLimitRule>;
}

export const RATE_LIMIT_DEFAULTS: RateLimitSettings = { enabled: false, requests: 100, period: '1m', periodMs: 60_000, burst: 0, perRoute: {} };

const FIELDS = new Set(['enabled', 'requests', 'period', 'burst', 'per_route']);
const ROUTE_FIELDS = new Set(['requests', 'period', 'burst']);

function refuse(message: string, hint: string): never {
  throw new CompozyError('CONFIG_INVALID', message, { hint });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unknownKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, where: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.has(key));
  if (unknown.length > 0) refuse(`${where} has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}.`, `The keys of ${where} are ${[...allowed].join(', ')}.`);
}

function whole(value: unknown, where: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) refuse(`${where} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}.`, `Fix ${where}.`);
  return value;
}

function rule(raw: Record<string, unknown>, where: string, base: RateLimitRule): RateLimitRule {
  const requests = raw.requests === undefined ? base.requests : whole(raw.requests, `${where}.requests`, 1);
  const burst = raw.burst === undefined ? base.burst : whole(raw.burst, `${where}.burst`, 0);
  if (raw.period === undefined) return { requests, burst, period: base.period, periodMs: base.periodMs };
  const period = typeof raw.period === 'string' || typeof raw.period === 'number' ? String(raw.period).trim() : '';
  if (!isValidDuration(period) || parseDuration(period) < 1000) refuse(`${where}.period must be a duration of at least 1s such as 30s or 1m, got ${JSON.stringify(raw.period)}.`, `Fix ${where}.period.`);
  return { requests, burst, period, periodMs: parseDuration(period) };
}

/** Parses `server.rate_limit`; every key is checked, none is dropped. */
export function parseRateLimit(raw: unknown, where: string): RateLimitSettings {
  if (!isObject(raw)) refuse(`${where} must be a mapping {enabled, requests, period, burst, per_route}, got ${JSON.stringify(raw)}.`, `Fix ${where}.`);
  unknownKeys(raw, FIELDS, where);
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') refuse(`${where}.enabled must be true or false, got ${JSON.stringify(raw.enabled)}.`, `Fix ${where}.enabled.`);
  const global = rule(raw, where, RATE_LIMIT_DEFAULTS);
  const perRoute: Record<string, RateLimitRule> = {};
  if (raw.per_route !== undefined) {
    if (!isObject(raw.per_route)) refuse(`${where}.per_route must map route prefixes to {requests, period, burst}, got ${JSON.stringify(raw.per_route)}.`, `Fix ${where}.per_route.`);
    for (const [prefix, entry] of Object.entries(raw.per_route)) {
      const at = `${where}.per_route["${prefix}"]`;
      if (!prefix.startsWith('/')) refuse(`${at}: a route prefix starts with "/", e.g. /api/v0/workflows.`, `Fix ${where}.per_route.`);
      if (!isObject(entry)) refuse(`${at} must be {requests, period, burst}, got ${JSON.stringify(entry)}.`, `Fix ${at}.`);
      unknownKeys(entry, ROUTE_FIELDS, at);
      perRoute[prefix.replace(/\/+$/, '') || '/'] = rule(entry, at, global);
    }
  }
  // A rate_limit block is on unless it says enabled: false; without a block, limits are off.
  return { enabled: raw.enabled ?? true, ...global, perRoute };
}
