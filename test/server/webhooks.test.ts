import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import type { EventBus } from '../../src/engine/events.js';
import { compileProject } from '../../src/engine/project.js';
import type { Kv } from '../../src/kv/kv.js';
import { RedisKv } from '../../src/kv/redis/redis-kv.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { buildApp } from '../../src/server/app.js';
import { routeNeed } from '../../src/server/auth/policy.js';
import { ksuid } from '../../src/store/ksuid.js';
import { startHarness, type Harness } from '../engine/harness.js';
import { writeFiles } from '../helpers/files.js';
import { REDIS_URL, withService } from '../helpers/services.js';

/**
 * POST /api/v0/hooks/:slug over a real engine (SQLite store and KV, the interpreter workflow on a
 * Temporal test server's worker): signatures computed here with the secrets the project reads from
 * its environment, and every accepted delivery checked against the executions it stored.
 */

const HMAC_SECRET = 'hmac-secret-value';
const GITHUB_SECRET = 'github-secret-value';
const STRIPE_SECRET = 'whsec_stripe-secret-value';

const PROJECT = {
  'compozy.yaml': 'name: hooks\nworkflows:\n  - source: ./workflows/orders.yaml\n  - source: ./workflows/repo.yaml\n  - source: ./workflows/billing.yaml\n',
  'workflows/orders.yaml': `id: orders
config:
  input:
    type: object
    properties: { order_id: { type: string }, kind: { type: string }, amount: { type: integer } }
    required: [order_id, kind]
tools:
  - id: echo
triggers:
  - type: webhook
    webhook:
      slug: orders
      events:
        - name: order.created
          filter: payload.type == "order.created"
          input: { order_id: "{{ .payload.data.id }}", kind: created, amount: "{{ .payload.data.amount }}" }
        - name: order.paid
          filter: payload.type == "order.paid" && headers["x-shop"] == "main"
          input: { order_id: "{{ .payload.data.id }}", kind: paid }
      verify: { strategy: hmac, secret: "{{ .env.HOOK_HMAC_SECRET }}", header: X-Signature }
tasks:
  - id: say
    tool: echo
    with: { order: "{{ .workflow.input.order_id }}" }
`,
  'workflows/repo.yaml': `id: repo
tools:
  - id: echo
triggers:
  - type: webhook
    webhook:
      slug: github
      events:
        - name: push
          filter: headers["x-github-event"] == "push"
          input: { ref: "{{ .payload.ref }}" }
      verify: { strategy: github, secret: "\${HOOK_GITHUB_SECRET}" }
tasks:
  - id: say
    tool: echo
    with: { ref: "{{ .workflow.input.ref }}" }
`,
  'workflows/billing.yaml': `id: billing
tools:
  - id: echo
triggers:
  - type: webhook
    webhook:
      slug: stripe
      events:
        - name: invoice
          filter: payload.type.startsWith("invoice.")
          input: { invoice: "{{ .payload.data.object.id }}" }
      verify: { strategy: stripe, secret: "{{ .env.HOOK_STRIPE_SECRET }}", skew: 2m }
  - type: webhook
    webhook:
      slug: open
      method: put
      events:
        - name: any
          filter: "true"
          input: { invoice: "{{ .payload.invoice }}" }
          schema: { type: object, properties: { invoice: { type: string, minLength: 3 } } }
tasks:
  - id: say
    tool: echo
    with: { invoice: "{{ .workflow.input.invoice }}" }
`,
};

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const env = { HOOK_HMAC_SECRET: HMAC_SECRET, HOOK_GITHUB_SECRET: GITHUB_SECRET, HOOK_STRIPE_SECRET: STRIPE_SECRET };

let harness: Harness;
let app: FastifyInstance;
let kv: SqliteKv;
let serveOn: (kv: Kv) => Promise<FastifyInstance>;

beforeAll(async () => {
  const config = loadValidProject(writeFiles(PROJECT));
  harness = await startHarness(inject('temporalBin'), 'webhooks');
  const engine = harness.engine(compileProject(config, 20));
  const events = { publish: async () => ksuid() } as unknown as EventBus;
  serveOn = async (store: Kv) => {
    const built = buildApp({
      health: async () => ({ mode: 'standalone', project: 'hooks', status: 'up', components: [] }),
      notReadyReason: () => undefined,
      engine: { client: engine, store: harness.store, events },
      project: config,
      webhooks: { kv: store, env, now: () => NOW },
    });
    await built.ready();
    return built;
  };
  kv = SqliteKv.open(':memory:');
  app = await serveOn(kv);
}, 60_000);

afterAll(async () => {
  await app?.close();
  kv?.close();
  await harness?.close();
});

const hex = (secret: string, ...parts: string[]) => parts.reduce((mac, part) => mac.update(part), createHmac('sha256', secret)).digest('hex');

function deliver(slug: string, body: unknown, headers: Record<string, string> = {}, method: 'POST' | 'PUT' = 'POST', to: FastifyInstance = app) {
  return to.inject({ method, url: `/api/v0/hooks/${slug}`, payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}

async function execution(execId: string) {
  return harness.finish(execId);
}

async function executionsOf(workflowId: string): Promise<number> {
  const page = await harness.store.listWorkflowExecutions({ workflowId, limit: 100 });
  return page.items.length;
}

describe('hmac strategy', () => {
  const body = JSON.stringify({ type: 'order.created', data: { id: 'ord_1', amount: 42 } });

  it('accepts the HMAC-SHA256 of the raw body in the configured header, routes by filter and starts the workflow with the rendered input', async () => {
    const answer = await deliver('orders', body, { 'x-signature': hex(HMAC_SECRET, body) });
    expect(answer.statusCode).toBe(202);
    const data = answer.json().data;
    expect(data).toMatchObject({ workflow_id: 'orders', event: 'order.created', duplicate: false });
    expect(answer.headers.location).toBe(`/api/v0/executions/workflows/${data.exec_id}`);
    const run = await execution(data.exec_id);
    expect(run.status).toBe('SUCCESS');
    expect(run.input).toEqual({ order_id: 'ord_1', kind: 'created', amount: 42 });
  });

  it('refuses a signature made with another secret, a missing header and a non-hex value with 401, without the secret', async () => {
    for (const headers of [{ 'x-signature': hex('wrong-secret', body) }, {}, { 'x-signature': 'zz' }]) {
      const answer = await deliver('orders', body, headers);
      expect(answer.statusCode).toBe(401);
      expect(answer.json().error.code).toBe('SIGNATURE_INVALID');
      expect(answer.body).not.toContain(HMAC_SECRET);
    }
  });

  it('refuses a body changed after signing', async () => {
    const answer = await deliver('orders', body.replace('42', '43'), { 'x-signature': hex(HMAC_SECRET, body) });
    expect(answer.statusCode).toBe(401);
  });

  it('a CEL filter over the body and headers picks between two events; no match answers 204 with the reason in a header', async () => {
    const paid = JSON.stringify({ type: 'order.paid', data: { id: 'ord_2' } });
    const routed = await deliver('orders', paid, { 'x-signature': hex(HMAC_SECRET, paid), 'x-shop': 'main' });
    expect(routed.statusCode).toBe(202);
    expect(routed.json().data.event).toBe('order.paid');
    expect((await execution(routed.json().data.exec_id)).input).toEqual({ order_id: 'ord_2', kind: 'paid' });

    const before = await executionsOf('orders');
    const unmatched = await deliver('orders', paid, { 'x-signature': hex(HMAC_SECRET, paid), 'x-shop': 'other' });
    expect(unmatched.statusCode).toBe(204);
    expect(unmatched.headers['x-webhook-status']).toBe('no_matching_event');
    expect(unmatched.headers['x-webhook-reason']).toContain('order.created, order.paid');
    expect(await executionsOf('orders')).toBe(before);
  });

  it('input that breaks the workflow input schema is 400 and starts nothing', async () => {
    const noId = JSON.stringify({ type: 'order.paid', data: { id: 7 } });
    const before = await executionsOf('orders');
    const answer = await deliver('orders', noId, { 'x-signature': hex(HMAC_SECRET, noId), 'x-shop': 'main' });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error.code).toBe('INPUT_INVALID');
    expect(await executionsOf('orders')).toBe(before);
  });
});

describe('github strategy', () => {
  const body = JSON.stringify({ ref: 'refs/heads/main' });

  it('accepts X-Hub-Signature-256: sha256=<hex> and refuses a wrong one or one without the prefix', async () => {
    const good = await deliver('github', body, { 'x-hub-signature-256': `sha256=${hex(GITHUB_SECRET, body)}`, 'x-github-event': 'push' });
    expect(good.statusCode).toBe(202);
    expect((await execution(good.json().data.exec_id)).input).toEqual({ ref: 'refs/heads/main' });
    for (const signature of [`sha256=${hex(HMAC_SECRET, body)}`, hex(GITHUB_SECRET, body)]) {
      const bad = await deliver('github', body, { 'x-hub-signature-256': signature, 'x-github-event': 'push' });
      expect(bad.statusCode).toBe(401);
      expect(bad.body).not.toContain(GITHUB_SECRET);
    }
  });

  it('a redelivery with the same X-GitHub-Delivery starts one workflow and answers the first execution id', async () => {
    await redeliveryStartsOnce(app, 'd-72d3162e');
  });
});

/** Two concurrent deliveries with one X-GitHub-Delivery, then a third: one execution, the same id in all three answers. */
async function redeliveryStartsOnce(to: FastifyInstance, delivery: string): Promise<void> {
  const pushed = JSON.stringify({ ref: `refs/heads/${delivery}` });
  const headers = { 'x-hub-signature-256': `sha256=${hex(GITHUB_SECRET, pushed)}`, 'x-github-event': 'push', 'x-github-delivery': delivery };
  const before = await executionsOf('repo');
  const answers = await Promise.all([deliver('github', pushed, headers, 'POST', to), deliver('github', pushed, headers, 'POST', to)]);
  const third = await deliver('github', pushed, headers, 'POST', to);
  for (const answer of [...answers, third]) expect(answer.statusCode).toBe(202);
  const ids = new Set([...answers, third].map((a) => a.json().data.exec_id));
  expect(ids.size).toBe(1);
  expect([...answers, third].filter((a) => a.json().data.duplicate)).toHaveLength(2);
  expect(third.json().data.duplicate).toBe(true);
  expect(await executionsOf('repo')).toBe(before + 1);
}

await withService('Redis', REDIS_URL, 6379, () => {
  describe('deliveries deduplicated on the Redis KV (distributed mode)', () => {
    let redis: RedisKv;
    let onRedis: FastifyInstance;
    beforeAll(async () => {
      redis = await RedisKv.connect({ url: REDIS_URL, prefix: `compozy-test:webhooks:${ksuid()}:` });
      onRedis = await serveOn(redis);
    });
    afterAll(async () => {
      await onRedis?.close();
      await redis?.close();
    });

    it('a redelivery starts one workflow there too', async () => {
      await redeliveryStartsOnce(onRedis, `redis-${ksuid()}`);
    });
  });
});

describe('stripe strategy', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'invoice.paid', data: { object: { id: 'in_1' } } });
  const signed = (at: number, secret = STRIPE_SECRET) => `t=${at},v1=${hex(secret, String(at), '.', body)}`;
  const nowSeconds = Math.floor(NOW / 1000);

  it('accepts t=…,v1=… over "<t>.<body>" within the skew; the body id dedupes a retry', async () => {
    const first = await deliver('stripe', body, { 'stripe-signature': signed(nowSeconds - 60) });
    expect(first.statusCode).toBe(202);
    expect((await execution(first.json().data.exec_id)).input).toEqual({ invoice: 'in_1' });
    const retry = await deliver('stripe', body, { 'stripe-signature': signed(nowSeconds - 30) });
    expect(retry.statusCode).toBe(202);
    expect(retry.json().data).toMatchObject({ exec_id: first.json().data.exec_id, duplicate: true });
  });

  it('accepts when one of several v1 signatures matches (secret rotation)', async () => {
    const other = JSON.stringify({ id: 'evt_2', type: 'invoice.created', data: { object: { id: 'in_2' } } });
    const at = nowSeconds;
    const header = `t=${at},v1=${hex('old-secret', String(at), '.', other)},v1=${hex(STRIPE_SECRET, String(at), '.', other)}`;
    expect((await deliver('stripe', other, { 'stripe-signature': header })).statusCode).toBe(202);
  });

  it('refuses a stale timestamp (outside skew: 2m), a future one, a wrong secret and a malformed header', async () => {
    for (const header of [signed(nowSeconds - 121), signed(nowSeconds + 121), signed(nowSeconds, 'whsec_other'), 'v1=abc']) {
      const answer = await deliver('stripe', body, { 'stripe-signature': header });
      expect(answer.statusCode).toBe(401);
      expect(answer.body).not.toContain(STRIPE_SECRET);
    }
    expect((await deliver('stripe', body, { 'stripe-signature': signed(nowSeconds - 121) })).json().error.message).toContain('120 s');
  });
});

describe('the route', () => {
  it('an unknown slug is 404 WEBHOOK_NOT_FOUND', async () => {
    const answer = await deliver('nope', {});
    expect(answer.statusCode).toBe(404);
    expect(answer.json().error.code).toBe('WEBHOOK_NOT_FOUND');
  });

  it('a JSON body is read whatever its content type says, or without one', async () => {
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}]) {
      const answer = await app.inject({ method: 'PUT', url: '/api/v0/hooks/open', payload: JSON.stringify({ invoice: 'in_ct' }), headers });
      expect(answer.statusCode).toBe(202);
    }
  });

  it('a body that is not a JSON object is 400', async () => {
    for (const body of ['not json', '[1,2]']) {
      const answer = await app.inject({ method: 'PUT', url: '/api/v0/hooks/open', payload: body, headers: { 'content-type': 'text/plain' } });
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.code).toBe('INPUT_INVALID');
    }
  });

  it('the declared method only (405 otherwise); the event schema is checked (400); strategy none needs no signature', async () => {
    expect((await deliver('open', { invoice: 'in_3' })).statusCode).toBe(405);
    const bad = await deliver('open', { invoice: 'x' }, {}, 'PUT');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('does not match its schema');
    const good = await deliver('open', { invoice: 'in_3' }, {}, 'PUT');
    expect(good.statusCode).toBe(202);
  });

  it('an X-Idempotency-Key beats the body id', async () => {
    const one = await deliver('open', { id: 'same', invoice: 'in_4' }, { 'x-idempotency-key': 'k-1' }, 'PUT');
    const two = await deliver('open', { id: 'same', invoice: 'in_4' }, { 'x-idempotency-key': 'k-2' }, 'PUT');
    expect(one.statusCode).toBe(202);
    expect(two.statusCode).toBe(202);
    expect(two.json().data.exec_id).not.toBe(one.json().data.exec_id);
  });

  it('a body over 1 MiB is 413', async () => {
    const answer = await app.inject({ method: 'PUT', url: '/api/v0/hooks/open', payload: JSON.stringify({ invoice: 'x'.repeat(1024 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect(answer.statusCode).toBe(413);
  });

  it('needs no API key (the signature authenticates it), unlike starting a workflow', () => {
    expect(routeNeed('POST', '/api/v0/hooks/:slug')).toBe('open');
    expect(routeNeed('POST', '/api/v0/workflows/:workflow_id/executions')).toBe('execute');
  });
});
