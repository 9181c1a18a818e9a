import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { resolveEnvReferences } from '../config/secrets.js';
import type { ProjectConfig, WebhookEvent, WebhookTrigger } from '../config/types.js';
import { resolveSchema, type JsonSchema } from '../engine/definition.js';
import { CompozyError } from '../errors.js';
import { evaluateCondition } from '../expr/cel.js';
import { templates } from '../expr/template.js';
import { TemplateError } from '../expr/template-error.js';

/**
 * Webhook triggers (reference engine/webhook): signature strategies, event routing by CEL filter,
 * input rendering and the idempotency key of a delivery. The HTTP side is src/server/routes/hooks.ts.
 */

/** How long a delivery's idempotency key is remembered (the reference's webhooks.default_dedupe_ttl). */
export const DEDUPE_TTL_MS = 10 * 60_000;

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface WebhookRoute {
  workflowId: string;
  trigger: WebhookTrigger;
  /** Each event's schema, resolved, by event name. */
  schemas: ReadonlyMap<string, JsonSchema>;
}

/** Slug → the webhook trigger that owns it (slugs are unique across the project; config/validate.ts). */
export function webhookRoutes(project: ProjectConfig): Map<string, WebhookRoute> {
  const routes = new Map<string, WebhookRoute>();
  for (const workflow of project.workflows) {
    const known = new Map([...project.schemas, ...workflow.schemas].map((s) => [s.id, s]));
    for (const trigger of workflow.triggers) {
      if (trigger.type !== 'webhook') continue;
      const schemas = new Map<string, JsonSchema>();
      for (const event of trigger.events) {
        const schema = resolveSchema(event.schema, known);
        if (schema) schemas.set(event.name, schema);
      }
      routes.set(trigger.slug, { workflowId: workflow.id, trigger, schemas });
    }
  }
  return routes;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Constant-time comparison of a hex signature with the expected digest; false for anything that is not 32 bytes of hex. */
function digestMatches(expected: Buffer, hex: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

function hmacSha256(secret: string, ...parts: Array<string | Buffer>): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** The secret as written in verify.secret, its env references resolved; a missing variable is the server's fault (500), named, never the value. */
export function webhookSecret(route: WebhookRoute, env: NodeJS.ProcessEnv): string {
  const written = route.trigger.verify.secret ?? '';
  try {
    const secret = resolveEnvReferences(written, env, `verify.secret of webhook "${route.trigger.slug}"`);
    if (secret.trim() === '') throw new CompozyError('CONFIG_INVALID', `verify.secret of webhook "${route.trigger.slug}" is empty once resolved.`);
    return secret;
  } catch (error) {
    const problem = error as CompozyError;
    throw new CompozyError('WEBHOOK_MISCONFIGURED', problem.message, { ...(problem.hint ? { hint: problem.hint } : {}), ...(problem.details ? { details: problem.details } : {}) });
  }
}

/**
 * Why the request's signature does not verify, or undefined when it does. hmac: the configured
 * header holds the hex HMAC-SHA256 of the raw body; github: X-Hub-Signature-256 is `sha256=<hex>`;
 * stripe: Stripe-Signature is `t=<unix>,v1=<hex>[,v1=…]` over `<t>.<body>`, with `t` within the skew.
 */
export function signatureProblem(verify: WebhookTrigger['verify'], secret: string, headers: Headers, body: Buffer, nowMs: number): string | undefined {
  switch (verify.strategy) {
    case 'none':
      return undefined;
    case 'hmac': {
      const name = verify.header as string;
      const signature = header(headers, name)?.trim();
      if (!signature) return `the ${name} header is missing`;
      return digestMatches(hmacSha256(secret, body), signature) ? undefined : `the ${name} header does not match the body`;
    }
    case 'github': {
      const signature = header(headers, 'x-hub-signature-256')?.trim();
      if (!signature?.startsWith('sha256=')) return 'the X-Hub-Signature-256 header is missing or does not start with sha256=';
      return digestMatches(hmacSha256(secret, body), signature.slice('sha256='.length).trim()) ? undefined : 'the X-Hub-Signature-256 header does not match the body';
    }
    case 'stripe': {
      const value = header(headers, 'stripe-signature');
      if (!value) return 'the Stripe-Signature header is missing';
      const pairs = value.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
      const timestamp = pairs.find(([key]) => key === 't')?.[1];
      const candidates = pairs.filter(([key]) => key === 'v1').map(([, v]) => v ?? '');
      if (!timestamp || !/^\d+$/.test(timestamp) || candidates.length === 0) return 'the Stripe-Signature header is not t=<timestamp>,v1=<signature>';
      const skewMs = verify.skewMs as number;
      if (Math.abs(nowMs - Number(timestamp) * 1000) > skewMs) return `the Stripe-Signature timestamp is more than ${skewMs / 1000} s from the server's clock`;
      const expected = hmacSha256(secret, timestamp, '.', body);
      return candidates.some((candidate) => digestMatches(expected, candidate)) ? undefined : 'no v1 signature of the Stripe-Signature header matches the body';
    }
  }
}

/** The variables of an event filter: the body as `payload`, lower-cased `headers` (one value a string), `query`. */
export function filterContext(payload: unknown, headers: Headers, query: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const lowered: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) lowered[name.toLowerCase()] = value;
  return { payload, headers: lowered, query };
}

/** The first event whose filter holds; a filter that fails to evaluate is the body's fault (INPUT_INVALID). */
export function matchEvent(events: readonly WebhookEvent[], context: Record<string, unknown>): WebhookEvent | undefined {
  for (const event of events) {
    let allowed: boolean;
    try {
      allowed = evaluateCondition(event.filter, context);
    } catch (error) {
      throw new CompozyError('INPUT_INVALID', `The filter of webhook event "${event.name}" cannot be evaluated on this body: ${(error as Error).message}`, { details: { event: event.name } });
    }
    if (allowed) return event;
  }
  return undefined;
}

/** The event's input templates rendered over `{payload}` (a lone reference keeps its type). */
export function renderEventInput(event: WebhookEvent, payload: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, template] of Object.entries(event.input)) {
    try {
      out[key] = templates.renderValue(template, { payload });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      throw new CompozyError('INPUT_INVALID', `input.${key} of webhook event "${event.name}" cannot be rendered from this body: ${error.message}`, { details: { event: event.name, field: key } });
    }
  }
  return out;
}

/**
 * What identifies a delivery across a provider's retries: X-Idempotency-Key, else GitHub's
 * X-GitHub-Delivery, else the body's top-level `id` (Stripe's event id, most providers' delivery id).
 * Undefined when there is none: such a delivery is not deduplicated.
 */
export function idempotencyKey(headers: Headers, payload: unknown): string | undefined {
  const given = header(headers, 'x-idempotency-key')?.trim() || header(headers, 'x-github-delivery')?.trim();
  if (given) return given;
  const id = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>).id : undefined;
  return (typeof id === 'string' && id.trim() !== '') || typeof id === 'number' ? String(id) : undefined;
}

/** The KV key a delivery's execution id is kept under: per slug, the delivery key hashed (it comes from the client). */
export function dedupeKvKey(slug: string, key: string): string {
  return `webhook:idempotency:${slug}:${createHash('sha256').update(key).digest('hex')}`;
}
