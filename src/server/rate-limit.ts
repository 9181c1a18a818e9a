import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { RateLimitRule, RateLimitSettings } from '../config/rate-limit-settings.js';
import { CompozyError } from '../errors.js';
import type { Kv } from '../kv/kv.js';
import { KvWindowCounter, type WindowCount } from './rate-limit-store.js';
import { hookList } from './route-hooks.js';
import { isDashboardRoute } from './dashboard.js';

export interface RateLimitOptions {
  settings: RateLimitSettings;
  kv: Kv;
}

/** Health, readiness, metrics and the API description are never limited (as in Compozy); nor is the dashboard's page and assets. */
function exempt(url: string): boolean {
  return url === '/healthz' || url === '/readyz' || url === '/api/v0/health' || url === '/metrics' || url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/') || isDashboardRoute(url);
}

function covers(prefix: string, url: string): boolean {
  return prefix === '/' || url === prefix || url.startsWith(`${prefix}/`);
}

/** Per API key when the request presented a valid one (src/server/auth), else per client address. */
function clientKey(request: FastifyRequest): string {
  return request.apiKey ? `apikey:${request.apiKey.id}` : `ip:${request.ip}`;
}

/** The RateLimit-* headers of a counted request, and the 429 when it is over the rule's budget. */
function answer(rule: RateLimitRule, reply: FastifyReply, { current, ttl }: WindowCount): CompozyError | undefined {
  const reset = Math.max(1, Math.ceil(ttl / 1000));
  void reply.header('ratelimit-limit', rule.requests).header('ratelimit-remaining', Math.max(0, rule.requests - current)).header('ratelimit-reset', reset);
  if (current <= rule.requests) return undefined;
  void reply.header('retry-after', reset);
  return new CompozyError('RATE_LIMITED', `Too many requests: the limit is ${rule.requests} per ${rule.period}${rule.burst > 0 ? ` (+${rule.burst} burst)` : ''}; retry in ${reset} s.`, {
    hint: 'Wait for the Retry-After seconds, or raise server.rate_limit in compozy.yaml.',
    details: { limit: rule.requests, period: rule.period, burst: rule.burst, retry_after: reset },
  });
}

/** Failed API key checks, counted per client address (src/server/auth/guard.ts). */
export interface FailureLimiter {
  /** A 429 when this process knows the address's failure budget is spent: answered before its key is looked at. */
  blocked(request: FastifyRequest, reply: FastifyReply): CompozyError | undefined;
  /** Counts one failed check of the address: a 429 once over the budget, else undefined (the 401 stands). */
  failed(request: FastifyRequest, reply: FastifyReply): CompozyError | undefined | Promise<CompozyError | undefined>;
}

/**
 * With `server.rate_limit` on, requests refused with 401 (no key, or one that is not valid) are counted
 * per client address against the global requests per period, without burst, on the KV like every
 * budget; once an address has spent it, its requests that present no key this process verified before
 * get 429 without their key being looked at, until the window ends. Guessing keys is slowed to that
 * rate, and a client whose key was already verified keeps working.
 */
export function failureLimiter(options: RateLimitOptions): FailureLimiter | undefined {
  const { settings } = options;
  if (!settings.enabled) return undefined;
  const counter = new KvWindowCounter(options.kv);
  const rule: RateLimitRule = { requests: settings.requests, period: settings.period, periodMs: settings.periodMs, burst: 0 };
  const name = (request: FastifyRequest) => `authfail:ip:${request.ip}`;
  return {
    blocked(request, reply) {
      const count = counter.spent(name(request), rule.periodMs, rule.requests);
      return count && answer(rule, reply, count);
    },
    failed(request, reply) {
      const count = counter.hit(name(request), rule.periodMs, rule.requests, 0);
      return count instanceof Promise ? count.then((result) => answer(rule, reply, result)) : answer(rule, reply, count);
    },
  };
}

/**
 * `server.rate_limit`: the global budget on every route but the exempt ones; a route under a
 * per_route prefix (the longest that matches) has that prefix's budget instead. One callback hook per
 * route, added after the auth check (the budget is the verified key's), finished synchronously while
 * this process holds tokens of the client's budget (KvWindowCounter). Every answer carries
 * RateLimit-Limit, -Remaining and -Reset (IETF draft, seconds); a refusal is 429 RATE_LIMITED with
 * Retry-After. A KV that does not answer fails the request with its error, not open: a limit that
 * silently stops holding is no limit.
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  const { settings } = options;
  if (!settings.enabled) return;
  const counter = new KvWindowCounter(options.kv);
  const prefixes = Object.keys(settings.perRoute).sort((a, b) => b.length - a.length);
  const used = new Set<string>();

  const limit = (rule: RateLimitRule, group: string): onRequestHookHandler =>
    function rateLimit(request, reply, done) {
      const count = counter.hit(`${clientKey(request)}${group}`, rule.periodMs, rule.requests, rule.burst);
      if (count instanceof Promise) count.then((result) => done(answer(rule, reply, result)), done);
      else done(answer(rule, reply, count));
    };

  app.addHook('onRoute', (route) => {
    if (exempt(route.url) || hookList(route.onRequest).some((hook) => hook.name === 'rateLimit')) return;
    const prefix = prefixes.find((candidate) => covers(candidate, route.url));
    if (prefix !== undefined) used.add(prefix);
    const hook = prefix === undefined ? limit(settings, '') : limit(settings.perRoute[prefix] as RateLimitRule, `|route:${prefix}`);
    route.onRequest = [...hookList(route.onRequest), hook];
  });

  app.addHook('onReady', async () => {
    const unused = prefixes.filter((prefix) => !used.has(prefix));
    if (unused.length > 0) {
      throw new CompozyError('CONFIG_INVALID', `server.rate_limit.per_route names ${unused.map((p) => `"${p}"`).join(', ')}, which no route of this server starts with.`, {
        hint: 'Use a route prefix such as /api/v0/workflows, /api/v0/executions or /api/v0/memory.',
      });
    }
  });
}
