import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CompozyError, errorMessage } from '../../errors.js';
import type { ApiKeyRecord, ApiKeyStore } from '../../store/api-keys.js';
import { KeyVerifier } from './keys.js';
import { isLoopbackHost, presentedKey, routeNeed, scopeAllows, type AuthDecision } from './policy.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified key the request presented; null when auth is off or the route is open. */
    apiKey: ApiKeyRecord | null;
    /** /api/v0/health without a valid key while auth is on: answered with its overall status only. */
    healthSummaryOnly: boolean;
  }
}

export interface AuthOptions {
  decision: AuthDecision;
  /** Where the API listens, for the start-up line. */
  host: string;
  keys: ApiKeyStore | undefined;
  log?: ((line: string) => void) | undefined;
}

const CREATE_KEY_HINT = 'Create one with `compozy auth create-key --name <name> --scope execute` in the project folder (it writes to the store this server uses), then start again; or listen on 127.0.0.1.';

function unauthorized(missing: boolean): CompozyError {
  return missing
    ? new CompozyError('UNAUTHORIZED', 'An API key is required.', { hint: 'Send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.' })
    : new CompozyError('UNAUTHORIZED', 'The API key is not valid.', { hint: 'Check the key, or create a new one with `compozy auth create-key`.' });
}

function summaryOnly(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || !('data' in payload)) return payload;
  const { data, ...rest } = payload as { data: { status?: unknown } };
  return { ...rest, message: `${String((rest as { message?: unknown }).message ?? '')} (send an API key for the components)`.trim(), data: { status: data.status } };
}

/**
 * API keys on every route but the open ones (routeNeed), as one onRequest hook on the root instance so
 * it runs before any route's own hooks (the rate limiter keys on the verified key). With auth on, the
 * server refuses to become ready while the store has no usable key.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('apiKey', null);
  app.decorateRequest('healthSummaryOnly', false);
  const { decision, keys } = options;
  if (!decision.enabled) {
    if (!isLoopbackHost(options.host)) options.log?.(`warning: API keys are off (${decision.reason}) although the API listens on ${options.host}: anyone who reaches the port can start and read executions`);
    return;
  }
  if (!keys) throw new CompozyError('CONFIG_INVALID', `API keys are required (${decision.reason}), but this server's execution store keeps none.`, { hint: 'Use the SQLite or PostgreSQL store.' });
  const verifier = new KeyVerifier(keys, (error) => options.log?.(`could not record an API key's last use: ${errorMessage(error)}`));

  app.addHook('onReady', async () => {
    if ((await keys.countUsableApiKeys(new Date().toISOString())) === 0) {
      throw new CompozyError('CONFIG_INVALID', `API keys are required (${decision.reason}), but the execution store has no usable key.`, { hint: CREATE_KEY_HINT });
    }
    options.log?.(`API keys required (${decision.reason})`);
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const need = routeNeed(request.method, request.routeOptions.url);
    if (need === 'open') return;
    const presented = presentedKey(request.headers);
    const key = presented ? await verifier.verify(presented) : undefined;
    if (need === 'summary') {
      request.apiKey = key ?? null;
      request.healthSummaryOnly = key === undefined;
      return;
    }
    if (!key) {
      void reply.header('www-authenticate', 'Bearer');
      throw unauthorized(presented === undefined);
    }
    if (!scopeAllows(key.scope, need)) {
      throw new CompozyError('FORBIDDEN', `This API key's scope is ${key.scope}; ${request.method} ${request.routeOptions.url ?? request.url} needs ${need}.`, {
        hint: `Use a key created with --scope ${need}${need === 'admin' ? '' : ' (or admin)'}.`,
        details: { scope: key.scope, required: need },
      });
    }
    request.apiKey = key;
  });

  app.addHook('preSerialization', async (request: FastifyRequest, _reply, payload: unknown) => (request.healthSummaryOnly ? summaryOnly(payload) : payload));
}
