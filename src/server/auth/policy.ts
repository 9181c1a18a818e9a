import { isIP } from 'node:net';
import type { AppSettings } from '../../config/settings.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../store/api-keys.js';
import { isDashboardRoute } from '../dashboard.js';

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}

export interface AuthDecision {
  enabled: boolean;
  /** Why, in words the start-up log and errors use. */
  reason: string;
}

/** `auth.enabled` when set; otherwise on exactly when the API binds a non-loopback address. */
export function authDecision(settings: Pick<AppSettings, 'authEnabled'>, host: string): AuthDecision {
  const setting = settings.authEnabled;
  if (setting.value !== undefined) return { enabled: setting.value, reason: `${setting.origin} is ${setting.value}` };
  return isLoopbackHost(host) ? { enabled: false, reason: `the API binds loopback ${host}` } : { enabled: true, reason: `the API binds ${host}, which is not loopback` };
}

/** What a route needs: nothing (`open`), `summary` (open, its detail needs a key), or a scope. */
export type RouteNeed = 'open' | 'summary' | ApiKeyScope;

const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/openapi.json']);
/** Webhook deliveries authenticate by their signature (verify:), not an API key; they are still rate-limited. */
const WEBHOOK_ROUTE = '/api/v0/hooks/:slug';
/** Destructive operations: they need an admin key. */
const ADMIN_ROUTES = new Set(['POST /api/v0/memory/:memory_ref/clear', 'POST /api/v0/memory/:memory_ref/delete']);

/**
 * The scope a route needs, by its pattern (`/api/v0/executions/workflows/:exec_id`). Reads (GET, HEAD)
 * need read; anything that starts, signals, cancels or writes needs execute; ADMIN_ROUTES admin.
 */
export function routeNeed(method: string, pattern: string): RouteNeed {
  if (OPEN_ROUTES.has(pattern) || pattern === '/docs' || pattern.startsWith('/docs/') || pattern === WEBHOOK_ROUTE || isDashboardRoute(pattern)) return 'open';
  if (pattern === '/api/v0/health') return 'summary';
  if (ADMIN_ROUTES.has(`${method} ${pattern}`)) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'execute';
}

const NEED_ORDER: readonly RouteNeed[] = ['open', 'summary', ...API_KEY_SCOPES];

/** For a route declared with several methods, what the strictest of them needs. */
export function strictestNeed(methods: string | readonly string[], pattern: string): RouteNeed {
  const needs = (typeof methods === 'string' ? [methods] : methods).map((method) => routeNeed(method, pattern));
  return needs.reduce((a, b) => (NEED_ORDER.indexOf(b) > NEED_ORDER.indexOf(a) ? b : a), 'open');
}

export function scopeAllows(scope: ApiKeyScope, needed: ApiKeyScope): boolean {
  return API_KEY_SCOPES.indexOf(scope) >= API_KEY_SCOPES.indexOf(needed);
}

/** The key a request presents: `Authorization: Bearer <key>`, else `X-API-Key`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return match ? match[1] : '';
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}
