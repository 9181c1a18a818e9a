import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import { CompozyError } from '../../errors.js';
import type { Kv } from '../../kv/kv.js';
import { describeProblems, SchemaValidator } from '../../platform/schema-validator.js';
import { ksuid } from '../../store/ksuid.js';
import { DEDUPE_TTL_MS, dedupeKvKey, filterContext, idempotencyKey, matchEvent, renderEventInput, signatureProblem, webhookSecret, type WebhookRoute } from '../../triggers/webhooks.js';
import { BODY_LIMIT_BYTES, checkBody } from '../http-edge.js';
import { admitted, OVERLOADED } from './workflows.js';
import { errors, object, ok, params, route, STRING } from './schemas.js';

export interface HookDeps {
  engine: EngineClient;
  /** Slug → its webhook trigger (triggers/webhooks.ts webhookRoutes). */
  routes: ReadonlyMap<string, WebhookRoute>;
  /** Where delivery keys are remembered (SET NX with a TTL), so a retried delivery starts nothing new. */
  kv: Kv;
  /** The project environment verify.secret references resolve against. */
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

const hookSchema = route({
  summary: 'Deliver a webhook: verified, routed to the first event whose filter holds, and the workflow started with that event\'s input',
  tags: ['webhooks'],
  params: params({ slug: STRING }),
  response: {
    202: ok('started (or, for a delivery key already seen, the execution it started); the Location header names the execution', object({ exec_id: STRING, exec_url: STRING, workflow_id: STRING, event: STRING, duplicate: { type: 'boolean' } })),
    204: { description: 'no event\'s filter matched; the X-Webhook-Reason header says so', type: 'null' },
    ...errors({
      400: 'a body that is not a JSON object, a filter or input template that fails on it, or input that breaks the event\'s or the workflow\'s schema',
      401: 'SIGNATURE_INVALID: the signature is missing, wrong, or (stripe) its timestamp is outside the tolerance',
      404: 'WEBHOOK_NOT_FOUND',
      405: 'METHOD_NOT_ALLOWED: the webhook is declared with another method',
      413: 'a body over 1 MiB',
      ...OVERLOADED,
      500: 'WEBHOOK_MISCONFIGURED: verify.secret names an unset variable',
      503: 'WORKER_UNAVAILABLE: no worker polls the task queue',
    }),
  },
});

/**
 * POST (or the declared PUT/PATCH) /hooks/:slug. Not behind API keys — the signature is its
 * authentication (auth/policy.ts) — but rate-limited like every route. The body is read raw (the
 * signature is over its bytes), size-limited, and parsed as JSON only once verified.
 */
export function hookRoutes(deps: HookDeps) {
  const validator = new SchemaValidator();
  const now = deps.now ?? Date.now;

  const accepted = (reply: FastifyReply, data: { exec_id: string; workflow_id: string; event: string; duplicate: boolean }) => {
    const execUrl = `/api/v0/executions/workflows/${data.exec_id}`;
    return reply.status(202).header('location', execUrl).send({ status: 202, message: data.duplicate ? 'webhook delivery already accepted' : 'webhook accepted', data: { ...data, exec_url: execUrl } });
  };

  return async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

    app.route<{ Params: { slug: string }; Body: Buffer | undefined; Querystring: Record<string, unknown> }>({
      method: ['POST', 'PUT', 'PATCH'],
      url: '/hooks/:slug',
      schema: hookSchema,
      handler: async (request, reply) => {
        const { slug } = request.params;
        const hook = deps.routes.get(slug);
        if (!hook) throw new CompozyError('WEBHOOK_NOT_FOUND', `No webhook trigger has the slug "${slug}".`, { hint: 'Declare it in a workflow: triggers: [{type: webhook, webhook: {slug, events, verify}}].' });
        const { trigger } = hook;
        if (request.method !== trigger.method) throw new CompozyError('METHOD_NOT_ALLOWED', `Webhook "${slug}" takes ${trigger.method}, not ${request.method}.`);
        const raw = request.body ?? Buffer.alloc(0);
        if (trigger.verify.strategy !== 'none') {
          const problem = signatureProblem(trigger.verify, webhookSecret(hook, deps.env), request.headers, raw, now());
          if (problem) throw new CompozyError('SIGNATURE_INVALID', `The ${trigger.verify.strategy} signature of webhook "${slug}" does not verify: ${problem}.`);
        }
        const payload = parsePayload(raw);
        const event = matchEvent(trigger.events, filterContext(payload, request.headers, request.query));
        if (!event) {
          return reply
            .status(204)
            .header('x-webhook-status', 'no_matching_event')
            .header('x-webhook-reason', `no filter of webhook "${slug}" matched (events: ${trigger.events.map((e) => e.name).join(', ')})`)
            .send();
        }
        const input = renderEventInput(event, payload);
        const schema = hook.schemas.get(event.name);
        const problems = schema ? validator.problems(schema, input) : [];
        if (problems.length > 0) throw new CompozyError('INPUT_INVALID', `The input of webhook event "${event.name}" does not match its schema: ${describeProblems(problems)}.`, { details: { event: event.name, errors: problems } });

        const key = idempotencyKey(request.headers, payload);
        const kvKey = key === undefined ? undefined : dedupeKvKey(slug, key);
        const execId = ksuid();
        while (kvKey !== undefined && !(await deps.kv.set(kvKey, execId, { nx: true, px: DEDUPE_TTL_MS }))) {
          const first = await deps.kv.get(kvKey);
          if (first !== null) return accepted(reply, { exec_id: first, workflow_id: hook.workflowId, event: event.name, duplicate: true });
        }
        return admitted(reply, async () => {
          try {
            await deps.engine.start(hook.workflowId, input, { admit: true, execId });
          } catch (error) {
            if (kvKey !== undefined) await deps.kv.del(kvKey);
            throw error;
          }
          return accepted(reply, { exec_id: execId, workflow_id: hook.workflowId, event: event.name, duplicate: false });
        });
      },
    });
  };
}

/** The body as JSON: it must be one object (the reference's map payload), no deeper than any other body. */
function parsePayload(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new CompozyError('INPUT_INVALID', `The webhook body is not valid JSON: ${(error as Error).message}.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CompozyError('INPUT_INVALID', 'The webhook body must be a JSON object.');
  checkBody(value);
  return value as Record<string, unknown>;
}
