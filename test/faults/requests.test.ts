import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess, copyFixture } from '../helpers/cli.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

interface Envelope {
  status: number;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

interface Answer {
  status: number;
  body: Envelope;
}

let temporal: TestTemporal;
let serve: CliProcess;
let port: number;

/** A request written as raw as the case needs: any path bytes, headers and body. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Envelope });
        } catch {
          reject(new Error(`not JSON (${res.statusCode}): ${text}`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const postJson = (path: string, raw: string) => send('POST', `/api/v0${path}`, { 'content-type': 'application/json' }, raw);

/** `{"input": {"n": 1, "deep": [[…]]}}` nested `levels` deep in all (the body object is level 1). */
function nestedBody(levels: number): string {
  const inner = levels - 2;
  return `{"input":{"n":1,"deep":${'['.repeat(inner)}${']'.repeat(inner)}}}`;
}

async function finished(execId: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { body } = await send('GET', `/api/v0/executions/workflows/${execId}`);
    const status = String(body.data?.status);
    if (['SUCCESS', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(status)) return status;
    await sleep(100);
  }
  throw new Error(`execution ${execId} did not finish`);
}

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
  port = await freePort();
  serve = new CliProcess(['serve', copyFixture('engine-api'), '--port', String(port), '--temporal-address', temporal.address]);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && serve.child.exitCode === null) {
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) return;
    await sleep(50);
  }
  throw new Error(`serve did not become ready:\n${serve.output}`);
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await temporal?.stop();
});

describe('malformed requests get a typed answer in the envelope', () => {
  it('a cursor the store never returned is 400 INPUT_INVALID', async () => {
    const answer = await send('GET', '/api/v0/executions/workflows?cursor=not-a-cursor');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: expect.stringContaining('cursor "not-a-cursor"') } });
    // Decodes like a real cursor, but its timestamp would reach SQL (Postgres answered 503 for it).
    const forged = Buffer.from(JSON.stringify(['garbage', 'x'])).toString('base64url');
    expect((await send('GET', `/api/v0/executions/workflows?cursor=${forged}`)).body).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID' } });
  });

  it('a body nested past the limit is 400 INPUT_INVALID naming the limit; one at the limit is accepted', async () => {
    for (const levels of [101, 5000]) {
      const answer = await postJson('/workflows/nap/executions', nestedBody(levels));
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('more than 100 levels deep (at input.deep'), details: { limit: 100 } });
    }
    const atLimit = await postJson('/workflows/nap/executions', nestedBody(100));
    expect(atLimit.status).toBe(202);
    expect(await finished(String(atLimit.body.data?.exec_id))).toBe('SUCCESS');
  });

  it('a __proto__ or constructor.prototype key is refused by name, not reported as invalid JSON', async () => {
    const proto = await postJson('/workflows/nap/executions', '{"input":{"n":1,"__proto__":{"admin":true}}}');
    expect(proto.status).toBe(400);
    expect(proto.body.error).toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('"__proto__" (at input.__proto__)'), details: { path: 'input.__proto__' } });
    const ctor = await postJson('/events', '{"name":"x","payload":{"constructor":{"prototype":{"admin":true}}}}');
    expect(ctor.status).toBe(400);
    expect(ctor.body.error?.message).toContain('"constructor.prototype" (at payload.constructor)');
  });

  it('malformed JSON says where; an empty JSON body says so', async () => {
    const bad = await postJson('/workflows/nap/executions', '{"input": {n: 1}}');
    expect(bad.body).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^The body is not valid JSON: .*position/) } });
    const empty = await postJson('/workflows/nap/executions', '');
    expect(empty.body).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST', message: expect.stringContaining('The body is empty') } });
  });

  it("Fastify's own refusals come back in the envelope: bad URL encoding, 415", async () => {
    const url = await send('GET', '/api/v0/workflows/%E0%A4%A');
    expect(url.status).toBe(400);
    expect(url.body).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST', message: expect.stringContaining('invalid percent-encoding') } });
    const media = await send('POST', '/api/v0/workflows/nap/executions', { 'content-type': 'text/xml' }, '<input/>');
    expect(media.status).toBe(415);
    expect(media.body).toMatchObject({ status: 415, error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type "text/xml" is not accepted here.' } });
  });

  it('headers over the limit are 431 HEADERS_TOO_LARGE in the envelope', async () => {
    const answer = await send('GET', '/api/v0/workflows', { 'x-big': 'a'.repeat(20_000) });
    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({ status: 431, error: { code: 'HEADERS_TOO_LARGE' } });
  });

  it('cancel, pause, resume and signals of an execution that already ended are 409 EXECUTION_NOT_RUNNING', async () => {
    const started = await postJson('/workflows/nap/executions', '{"input":{"n":3}}');
    const execId = String(started.body.data?.exec_id);
    expect(await finished(execId)).toBe('SUCCESS');
    for (const action of ['cancel', 'pause', 'resume', 'signals']) {
      const answer = await postJson(`/executions/workflows/${execId}/${action}`, '{"signal_name":"late"}');
      expect(answer.status, action).toBe(409);
      expect(answer.body.error?.code, action).toBe('EXECUTION_NOT_RUNNING');
      expect(answer.body.error?.details.hint, action).toBe(`Its final state is at GET /api/v0/executions/workflows/${execId}.`);
    }
    const { body } = await send('GET', `/api/v0/executions/workflows/${execId}`);
    expect(body.data?.status).toBe('SUCCESS');
  });
});

describe('slow clients', () => {
  it('a client that sends half its headers and stalls gets 408 and its socket is closed, while others are served', async () => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /api/v0/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
    await sleep(200);
    expect((await send('GET', '/healthz')).status).toBe(200);
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as Envelope;
    expect(body).toMatchObject({ status: 408, error: { code: 'REQUEST_TIMEOUT' } });
  }, 60_000);
});
