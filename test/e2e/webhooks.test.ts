import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

/**
 * A webhook through a real `compozy serve`: the secret read from the project's .env, the delivery
 * started on the server's own worker, and server.rate_limit holding on /api/v0/hooks.
 */

const SECRET = 'e2e-webhook-secret';
const PROJECT = {
  'compozy.yaml': 'name: hooks-e2e\nworkflows:\n  - source: ./wf.yaml\nserver:\n  rate_limit:\n    per_route:\n      /api/v0/hooks: { requests: 3, period: 1h }\n',
  '.env': `E2E_HOOK_SECRET=${SECRET}\n`,
  'wf.yaml': `id: orders
triggers:
  - type: webhook
    webhook:
      slug: orders
      events:
        - name: created
          filter: payload.type == "created"
          input: { order_id: "{{ .payload.id }}" }
      verify: { strategy: hmac, secret: "{{ .env.E2E_HOOK_SECRET }}", header: X-Signature }
tasks:
  - id: done
    type: aggregate
    outputs: { order: "{{ .workflow.input.order_id }}" }
outputs:
  order: "{{ .tasks.done.output.order }}"
`,
};

let temporal: TestTemporal;
let serve: CliProcess;
let base: string;

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  serve = new CliProcess(['serve', writeFiles(PROJECT), '--port', String(port), '--temporal-address', temporal.address]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && serve.child.exitCode === null && !(await fetch(`${base}/readyz`).then((r) => r.ok, () => false))) await sleep(50);
  if (!(await fetch(`${base}/readyz`).then((r) => r.ok, () => false))) throw new Error(`serve not ready:\n${serve.output}`);
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await temporal?.stop();
});

const deliver = (body: string, signature: string) => fetch(`${base}/api/v0/hooks/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': signature }, body });

it('a signed delivery starts the workflow on serve; a wrong signature is 401; the hooks budget answers 429 past its limit', async () => {
  const body = JSON.stringify({ id: 'ord_e2e', type: 'created' });
  const accepted = await deliver(body, createHmac('sha256', SECRET).update(body).digest('hex'));
  expect(accepted.status).toBe(202);
  const { data } = (await accepted.json()) as { data: { exec_id: string } };
  let state: { status?: string; output?: unknown } = {};
  for (let i = 0; i < 300 && !['SUCCESS', 'FAILED'].includes(String(state.status)); i++) {
    state = ((await (await fetch(`${base}/api/v0/executions/workflows/${data.exec_id}`)).json()) as { data: typeof state }).data;
    await sleep(100);
  }
  expect(state).toMatchObject({ status: 'SUCCESS', output: { order: 'ord_e2e' } });

  const wrong = await deliver(body, createHmac('sha256', 'not-the-secret').update(body).digest('hex'));
  expect(wrong.status).toBe(401);
  expect(await wrong.text()).not.toContain(SECRET);
  expect(accepted.headers.get('ratelimit-limit')).toBe('3');
  await deliver(body, 'x');
  const limited = await deliver(body, 'x');
  expect(limited.status).toBe(429);
});
