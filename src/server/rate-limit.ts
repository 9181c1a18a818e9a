import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateLimitRule, RateLimitSettings } from '../config/rate-limit-settings.js';
import { CompozyError } from '../errors.js';
import type { Kv } from '../kv/kv.js';
import { KvWindowCounter, kvRateLimitStore } from './rate-limit-store.js';

export interface RateLimitOptions {
  settings: RateLimitSettings;
  kv: Kv;
}

/** Health, readiness, metrics and the API description are never limited (as in Compozy). */
function exempt(url: string): boolean {
  return url === '/healthz' || url === '/readyz' || url === '/api/v0/health' || url === '/metrics' || url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/');
}

function covers(prefix: string, url: string): boolean {
  return prefix === '/' || url === prefix || url.startsWith(`${prefix}/`);
}

/** Per API key when the request presented a valid one (src/server/auth), else per client address. */
function clientKey(request: FastifyRequest): string {
  return request.apiKey ? `apikey:${request.apiKey.id}` : `ip:${request.ip}`;
}

/**
 * `server.rate_limit` through @fastify/rate-limit with its store on the KV. The global budget covers
 * every route but the exempt ones; a route under a per_route prefix (the longest that matches) has that
 * prefix's budget instead. Registered after the auth hook and before the routes (the plugin attaches
 * to routes as they are added). A KV that does not answer fails the request with its error (503), not
 * open: a limit that silently stops holding is no limit.
 */
export function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  const { settings, kv } = options;
  if (!settings.enabled) return;
  const prefixes = Object.keys(settings.perRoute).sort((a, b) => b.length - a.length);
  const used = new Set<string>();
  const ruleOf = new Map<string, RateLimitRule>();
  const groupOf = (prefix: string) => `|route:${prefix}`;

  app.addHook('onRoute', (route) => {
    if (exempt(route.url)) {
      route.config = { ...route.config, rateLimit: false };
      return;
    }
    const prefix = prefixes.find((candidate) => covers(candidate, route.url));
    if (prefix === undefined) return;
    const rule = settings.perRoute[prefix] as RateLimitRule;
    used.add(prefix);
    ruleOf.set(route.url, rule);
    route.config = { ...route.config, rateLimit: { max: rule.requests, timeWindow: rule.periodMs, groupId: groupOf(prefix) } };
  });

  app.addHook('onReady', async () => {
    const unused = prefixes.filter((prefix) => !used.has(prefix));
    if (unused.length > 0) {
      throw new CompozyError('CONFIG_INVALID', `server.rate_limit.per_route names ${unused.map((p) => `"${p}"`).join(', ')}, which no route of this server starts with.`, {
        hint: 'Use a route prefix such as /api/v0/workflows, /api/v0/executions or /api/v0/memory.',
      });
    }
  });

  const routeBurst = new Map(prefixes.map((prefix) => [groupOf(prefix), (settings.perRoute[prefix] as RateLimitRule).burst]));
  void app.register(rateLimit, {
    global: true,
    max: settings.requests,
    timeWindow: settings.periodMs,
    hook: 'onRequest',
    enableDraftSpec: true,
    skipOnError: false,
    keyGenerator: clientKey,
    store: kvRateLimitStore(new KvWindowCounter(kv), settings.burst, routeBurst),
    errorResponseBuilder: (request, context) => {
      const rule = (request.routeOptions.url !== undefined ? ruleOf.get(request.routeOptions.url) : undefined) ?? settings;
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new CompozyError('RATE_LIMITED', `Too many requests: the limit is ${context.max} per ${rule.period}${rule.burst > 0 ? ` (+${rule.burst} burst)` : ''}; retry in ${retryAfter} s.`, {
        hint: 'Wait for the Retry-After seconds, or raise server.rate_limit in compozy.yaml.',
        details: { limit: context.max, period: rule.period, burst: rule.burst, retry_after: retryAfter },
      });
    },
  });
}
