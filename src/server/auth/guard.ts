import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CompozyError, errorMessage } from '../../errors.js';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../../store/api-keys.js';
import { KeyVerifier } from './keys.js';
import { isLoopbackHost, presentedKey, scopeAllows, strictestNeed, type AuthDecision } from './policy.js';
import type { FailureLimiter } from '../rate-limit.js';
import { hookList } from '../route-hooks.js';

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
  /** Counts 401s per client address (server.rate_limit on); undefined: they are not limited. */
  failures?: FailureLimiter | undefined;
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

function keylessStore(decision: AuthDecision): CompozyError {
  return new CompozyError('CONFIG_INVALID', `API keys are required (${decision.reason}), but this server's execution store keeps none.`, { hint: 'Use the SQLite or PostgreSQL store.' });
}

/** Refuses (CONFIG_INVALID, naming the command that creates a key) while the store has no usable key. */
export async function requireUsableKey(keys: ApiKeyStore | undefined, decision: AuthDecision): Promise<void> {
  if (!keys) throw keylessStore(decision);
  if ((await keys.countUsableApiKeys(new Date().toISOString())) === 0) {
    throw new CompozyError('CONFIG_INVALID', `API keys are required (${decision.reason}), but the execution store has no usable key.`, { hint: CREATE_KEY_HINT });
  }
}

/**
 * API keys on every route but the open ones (routeNeed). A request for a route that does not exist gets
 * 404 with or without a key: the routes are no secret (/openapi.json lists them). With auth on, the
 * server refuses to become ready while the store has no usable key.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('apiKey', null);
  app.decorateRequest('healthSummaryOnly', false);
  const { decision, keys, failures } = options;
  if (!decision.enabled) {
    if (!isLoopbackHost(options.host)) options.log?.(`warning: API keys are off (${decision.reason}) although the API listens on ${options.host}: anyone who reaches the port can start and read executions`);
    return;
  }
  if (!keys) throw keylessStore(decision);
  const verifier = new KeyVerifier(keys, (error) => options.log?.(`could not record an API key's last use: ${errorMessage(error)}`));

  app.addHook('onReady', async () => {
    await requireUsableKey(keys, decision);
    options.log?.(`API keys required (${decision.reason})`);
  });

  const decide = (need: ApiKeyScope | 'summary', route: string, request: FastifyRequest, reply: FastifyReply, presented: string | undefined, key: ApiKeyRecord | undefined): CompozyError | undefined => {
    if (need === 'summary') {
      request.apiKey = key ?? null;
      request.healthSummaryOnly = key === undefined;
      return undefined;
    }
    if (!key) {
      void reply.header('www-authenticate', 'Bearer');
      return unauthorized(presented === undefined);
    }
    if (!scopeAllows(key.scope, need)) {
      return new CompozyError('FORBIDDEN', `This API key's scope is ${key.scope}; ${request.method} ${route} needs ${need}.`, {
        hint: `Use a key created with --scope ${need}${need === 'admin' ? '' : ' (or admin)'}.`,
        details: { scope: key.scope, required: need },
      });
    }
    request.apiKey = key;
    return undefined;
  };
  // A 401, or a key /api/v0/health found not valid (its detail would tell a guess from a key), counts
  // against the client address's failure budget, and is a 429 once that is spent.
  const finish = (need: ApiKeyScope | 'summary', route: string, request: FastifyRequest, reply: FastifyReply, presented: string | undefined, key: ApiKeyRecord | undefined, done: (error?: Error) => void): void => {
    const refusal = decide(need, route, request, reply, presented, key);
    const failedCheck = need === 'summary' ? presented !== undefined && !key : refusal?.code === 'UNAUTHORIZED';
    if (!failures || !failedCheck) return done(refusal);
    const limited = failures.failed(request, reply);
    const answer = (error: CompozyError | undefined) => {
      if (error) void reply.removeHeader('www-authenticate');
      done(error ?? refusal);
    };
    if (limited instanceof Promise) limited.then(answer, done);
    else answer(limited);
  };
  // A callback hook, finished synchronously when the key was verified before (most requests).
  const check = (need: ApiKeyScope | 'summary', route: string) =>
    function requireApiKey(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
      const presented = presentedKey(request.headers);
      const remembered = presented ? verifier.remembered(presented) : undefined;
      if (remembered) return done(decide(need, route, request, reply, presented, remembered));
      // /api/v0/health without a key stays open to a blocked address.
      const blocked = need === 'summary' && presented === undefined ? undefined : failures?.blocked(request, reply);
      if (blocked) return done(blocked);
      const found = presented ? verifier.verify(presented) : undefined;
      if (found instanceof Promise) found.then((key) => finish(need, route, request, reply, presented, key, done), done);
      else finish(need, route, request, reply, presented, found, done);
    };
  const summarize = async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => (request.healthSummaryOnly ? summaryOnly(payload) : payload);

  // Per route, decided once as routes are added: open routes pay nothing, and the check runs first
  // among the route's own hooks (before the rate limiter, which keys on the verified key).
  app.addHook('onRoute', (route) => {
    const need = strictestNeed(route.method, route.url);
    // The HEAD route Fastify derives from a GET arrives with the GET's hooks already in place.
    if (need === 'open' || hookList(route.onRequest).some((hook) => hook.name === 'requireApiKey')) return;
    route.onRequest = [check(need, route.url), ...hookList(route.onRequest)];
    if (need === 'summary') route.preSerialization = [summarize, ...hookList(route.preSerialization)];
  });
}
