import type { Client } from '@temporalio/client';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadSettings } from '../../src/config/settings.js';
import { EngineClient } from '../../src/engine/client.js';
import type { EventBus } from '../../src/engine/events.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { buildApp } from '../../src/server/app.js';
import { createKey, KeyVerifier, keyId } from '../../src/server/auth/keys.js';
import { authDecision, isLoopbackHost, presentedKey, routeNeed, scopeAllows, strictestNeed } from '../../src/server/auth/policy.js';
import type { ApiKeyScope } from '../../src/store/api-keys.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TOOLS_YAML, writeProject } from '../engine/harness.js';
import { tempDir } from '../helpers/fake-bin.js';

const closing: Array<{ close(): Promise<unknown> }> = [];
afterAll(async () => {
  for (const item of closing.reverse()) await item.close();
});

const project = writeProject({ 'workflows/hello.yaml': `id: hello\nversion: "2"\n${TOOLS_YAML}tasks:\n  - id: a\n    tool: echo\n` });

/** An API on a fresh store and KV, listening (for the policy) on `host`, with compozy.yaml settings `document`. */
function api(host: string, document: Record<string, unknown> = {}) {
  const dir = tempDir('auth-api');
  const store = SqliteStore.open(join(dir, 'compozy.db'));
  const kv = SqliteKv.open(join(dir, 'kv.db'));
  const client = { workflow: { async start() {} } } as unknown as Client;
  const engine = new EngineClient({ client, store, project, taskQueue: 'q', workerAvailable: async () => true, maxActiveExecutions: 0 });
  const events = { publish: async () => ksuid() } as unknown as EventBus;
  const settings = loadSettings({ document }, {}, {});
  const log: string[] = [];
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'p', status: 'up', components: [{ name: 'store', backend: 'sqlite', state: 'up', detail: 'secret detail' }] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events },
    security: { host, settings, keys: store.apiKeys, kv },
    log: (line) => log.push(line),
  });
  closing.push(kv, store, app);
  const key = async (scope: ApiKeyScope, expiresAt: string | null = null) => (await createKey(store.apiKeys, { name: scope, scope, expiresAt })).key;
  return { app, store, kv, key, log };
}

const start = (app: FastifyInstance, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/api/v0/workflows/hello/executions', payload: { input: {} }, headers });
const read = (app: FastifyInstance, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/api/v0/executions/workflows/${ksuid()}`, headers });
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('auth policy', () => {
  it('loopback is 127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, ::, a LAN address, a name) is not', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('auth.enabled wins; unset, auth is off on loopback and on otherwise', () => {
    expect(authDecision(loadSettings({ document: {} }, {}, {}), '127.0.0.1').enabled).toBe(false);
    expect(authDecision(loadSettings({ document: {} }, {}, {}), '0.0.0.0')).toEqual({ enabled: true, reason: 'the API binds 0.0.0.0, which is not loopback' });
    expect(authDecision(loadSettings({ document: { auth: { enabled: true } } }, {}, {}), '127.0.0.1')).toEqual({ enabled: true, reason: 'auth.enabled is true' });
    expect(authDecision(loadSettings({ document: { auth: { enabled: true } } }, {}, { COMPOZY_AUTH_ENABLED: 'false' }), '0.0.0.0').enabled).toBe(false);
    expect(() => loadSettings({ document: { auth: { enabled: 'yes' } } }, {}, {})).toThrow(/auth.enabled in compozy.yaml must be true or false/);
  });

  it('routes: health and docs open, /api/v0/health summary, reads need read, writes execute, memory clear/delete admin', () => {
    expect(routeNeed('GET', '/healthz')).toBe('open');
    expect(routeNeed('GET', '/readyz')).toBe('open');
    expect(routeNeed('GET', '/api/v0/health')).toBe('summary');
    expect(routeNeed('GET', '/api/v0/executions/workflows/:exec_id')).toBe('read');
    expect(routeNeed('POST', '/api/v0/workflows/:workflow_id/executions')).toBe('execute');
    expect(routeNeed('POST', '/api/v0/executions/workflows/:exec_id/cancel')).toBe('execute');
    expect(routeNeed('POST', '/api/v0/memory/:memory_ref/clear')).toBe('admin');
    expect(strictestNeed(['GET', 'POST'], '/api/v0/x')).toBe('execute');
    expect(scopeAllows('admin', 'execute')).toBe(true);
    expect(scopeAllows('execute', 'read')).toBe(true);
    expect(scopeAllows('read', 'execute')).toBe(false);
    expect(scopeAllows('execute', 'admin')).toBe(false);
  });

  it('a key comes from Authorization: Bearer, else X-API-Key; another scheme counts as a wrong key', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'bearer  abc ' })).toBe('abc');
    expect(presentedKey({ 'x-api-key': 'xyz' })).toBe('xyz');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBe('');
    expect(presentedKey({})).toBeUndefined();
  });
});

describe('KeyVerifier', () => {
  it('accepts the key it created; a wrong secret, unknown id, revoked or expired key all answer undefined', async () => {
    const store = SqliteStore.open(join(tempDir('auth-verify'), 'compozy.db'));
    closing.push(store);
    let now = Date.parse('2030-01-01T00:00:00Z');
    const verifier = new KeyVerifier(store.apiKeys, (error) => { throw error; }, () => now);
    const { key, record } = await createKey(store.apiKeys, { name: 'ci', scope: 'execute', expiresAt: '2030-01-02T00:00:00Z' });
    expect(key).toMatch(/^cpzy_[0-9A-Za-z]{27}_[A-Za-z0-9_-]{43}$/);
    expect(keyId(key)).toBe(record.id);
    expect(await verifier.verify(key)).toMatchObject({ id: record.id, scope: 'execute' });
    expect(await verifier.verify(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await verifier.verify(`cpzy_${ksuid()}_${key.slice(-43)}`)).toBeUndefined();
    expect(await verifier.verify('not-a-key')).toBeUndefined();
    now = Date.parse('2030-01-02T00:00:01Z');
    expect(await verifier.verify(key)).toBeUndefined();
    const other = await createKey(store.apiKeys, { name: 'other', scope: 'read', expiresAt: null });
    await store.apiKeys.revokeApiKey(other.record.id);
    expect(await verifier.verify(other.key)).toBeUndefined();
  });

  it('a key it remembers stops working once another process revokes it, from the next turn of the event loop', async () => {
    const path = join(tempDir('auth-cache'), 'compozy.db');
    const server = SqliteStore.open(path);
    const cli = SqliteStore.open(path);
    closing.push(server, cli);
    const verifier = new KeyVerifier(server.apiKeys, (error) => { throw error; });
    const { key, record } = await createKey(cli.apiKeys, { name: 'ci', scope: 'read', expiresAt: null });
    expect(await verifier.verify(key)).toMatchObject({ id: record.id });
    expect(await verifier.verify(key)).toMatchObject({ id: record.id });
    await cli.apiKeys.revokeApiKey(record.id);
    // The next request after a revocation arrives in a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(await verifier.verify(key)).toBeUndefined();
    const own = await createKey(server.apiKeys, { name: 'own', scope: 'read', expiresAt: null });
    expect(await verifier.verify(own.key)).toMatchObject({ id: own.record.id });
    await server.apiKeys.revokeApiKey(own.record.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await verifier.verify(own.key)).toBeUndefined();
  });

  it('keeps the last-used time, writing it at most once a minute per key', async () => {
    const store = SqliteStore.open(join(tempDir('auth-touch'), 'compozy.db'));
    closing.push(store);
    let now = Date.parse('2030-01-01T00:00:00Z');
    const verifier = new KeyVerifier(store.apiKeys, (error) => { throw error; }, () => now);
    const { key, record } = await createKey(store.apiKeys, { name: 'ci', scope: 'read', expiresAt: null });
    await verifier.verify(key);
    now += 30_000;
    await verifier.verify(key);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.apiKeys.findActiveApiKey(record.id))?.lastUsedAt).toBe('2030-01-01T00:00:00.000Z');
    now += 31_000;
    await verifier.verify(key);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await store.apiKeys.findActiveApiKey(record.id))?.lastUsedAt).toBe('2030-01-01T00:01:01.000Z');
  });
});

describe('the API with auth on', () => {
  it('refuses to become ready on a non-loopback bind while the store has no usable key, naming the command that creates one', async () => {
    const { app, store } = api('0.0.0.0');
    const expired = await createKey(store.apiKeys, { name: 'old', scope: 'admin', expiresAt: '2000-01-01T00:00:00Z' });
    expect(expired.record.expiresAt).not.toBeNull();
    const error = (await app.ready().then(() => undefined, (e: unknown) => e)) as { code?: string; message?: string; hint?: string };
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toContain('the API binds 0.0.0.0, which is not loopback');
    expect(error?.hint).toContain('compozy auth create-key');
  });

  it('on loopback, auth is off: no key needed, and none is asked for', async () => {
    const { app } = api('127.0.0.1');
    expect((await start(app)).statusCode).toBe(202);
  });

  it('401 without a key or with a bad one; an unknown and a revoked key get the same answer; read cannot start (403); execute can', async () => {
    const { app, store, key, log } = api('0.0.0.0');
    const readKey = await key('read');
    const executeKey = await key('execute');
    const revoked = await createKey(store.apiKeys, { name: 'gone', scope: 'admin', expiresAt: null });
    await store.apiKeys.revokeApiKey(revoked.record.id);
    await app.ready();
    expect(log).toContain('API keys required (the API binds 0.0.0.0, which is not loopback)');

    const missing = await start(app);
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.json()).toMatchObject({ status: 401, error: { code: 'UNAUTHORIZED', message: 'An API key is required.' } });

    const unknown = await start(app, bearer(`cpzy_${ksuid()}_${revoked.key.slice(-43)}`));
    const gone = await start(app, bearer(revoked.key));
    expect(unknown.statusCode).toBe(401);
    expect(gone.statusCode).toBe(401);
    expect(gone.body).toBe(unknown.body);
    expect(gone.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
    expect((await start(app, bearer('garbage'))).body).toBe(unknown.body);

    expect((await read(app, bearer(readKey))).statusCode).toBe(404);
    const forbidden = await start(app, bearer(readKey));
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ status: 403, error: { code: 'FORBIDDEN', details: { scope: 'read', required: 'execute' } } });
    expect((await store.listWorkflowExecutions()).items).toHaveLength(0);

    expect((await start(app, { 'x-api-key': executeKey })).statusCode).toBe(202);
    expect((await read(app)).statusCode).toBe(401);
    expect((await app.inject({ method: 'HEAD', url: `/api/v0/executions/workflows/${ksuid()}` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/api/v0/no-such-route' })).statusCode).toBe(404);
  });

  it('/healthz and /readyz stay open; /api/v0/health answers its status without a key and its components with one', async () => {
    const { app, key } = api('0.0.0.0');
    const readKey = await key('read');
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const summary = await app.inject({ method: 'GET', url: '/api/v0/health' });
    expect(summary.statusCode).toBe(200);
    expect(summary.json().data).toEqual({ status: 'up' });
    expect(summary.body).not.toContain('secret detail');
    const detail = await app.inject({ method: 'GET', url: '/api/v0/health', headers: bearer(readKey) });
    expect(detail.json().data.components[0]).toMatchObject({ name: 'store', detail: 'secret detail' });
  });

  it('auth.enabled: false on a non-loopback bind is allowed, with a warning in the log', async () => {
    const { app, log } = api('0.0.0.0', { auth: { enabled: false } });
    await app.ready();
    expect(log.some((line) => line.startsWith('warning: API keys are off (auth.enabled is false)'))).toBe(true);
    expect((await start(app)).statusCode).toBe(202);
  });
});
