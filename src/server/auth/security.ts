import type { FastifyInstance } from 'fastify';
import type { AppSettings } from '../../config/settings.js';
import type { Kv } from '../../kv/kv.js';
import type { ApiKeyStore } from '../../store/api-keys.js';
import { failureLimiter, registerRateLimit } from '../rate-limit.js';
import { registerAuth } from './guard.js';
import { authDecision } from './policy.js';

/** What the API needs for API keys and rate limits. */
export interface SecurityOptions {
  /** The listen address: auth defaults on for anything but loopback. */
  host: string;
  settings: Pick<AppSettings, 'authEnabled' | 'rateLimit'>;
  /** The execution store's keys (store.apiKeys). */
  keys: ApiKeyStore | undefined;
  /** Where rate-limit budgets are counted. */
  kv: Kv;
}

/** API keys (their 401s limited per client address), then rate limits (which key on the verified key), on the root instance before any route. */
export function registerSecurity(app: FastifyInstance, options: SecurityOptions, log?: (line: string) => void): void {
  const rateLimit = { settings: options.settings.rateLimit.value, kv: options.kv };
  registerAuth(app, { decision: authDecision(options.settings, options.host), host: options.host, keys: options.keys, log, failures: failureLimiter(rateLimit) });
  registerRateLimit(app, rateLimit);
}
