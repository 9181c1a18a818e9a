import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadSettings } from '../../src/config/settings.js';
import { EngineClient } from '../../src/engine/client.js';
import type { EventBus } from '../../src/engine/events.js';
import type { Kv } from '../../src/kv/kv.js';
import { RedisKv } from '../../src/kv/redis/redis-kv.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { buildApp } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth/keys.js';
import { KvWindowCounter } from '../../src/server/rate-limit-store.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TOOLS_YAML, writeProject } from '../engine/harness.js';
import { tempDir } from '../helpers/fake-bin.js';
import { REDIS_URL, withService } from '../helpers/services.js';

const closing: Array<{ close(): Promise<unknown> }> = [];
afterAll(async () => {
  for (const item of closing.reverse()) await item.close();
});

const project = writeProject({ 'workflows/hello.yaml': `id: hello\nversion: "2"\n${TOOLS_YAML}tasks:\n  - id: a\n    tool: echo\n` });

/** An API whose budgets are counted on `kv`, keys in `store`, with compozy.yaml settings `document`. */
async function api(kv: Kv, document: Record<string, unknown>, options: { host?: string; store?: SqliteStore } = {}) {
  const store = options.store ?? SqliteStore.open(join(tempDir('rate-api'), 'compozy.db'));
  const client = { workflow: { async start() {} } } as unknown as Client;
  const engine = new EngineClient({ client, store, project, taskQueue: 'q', workerAvailable: async () => true, maxActiveExecutions: 0 });
  const events = { publish: async () => ksuid() } as unknown as EventBus;
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'p', status: 'up', components: [] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events },
    security: { host: options.host ?? '127.0.0.1', settings: loadSettings({ document }, {}, {}), keys: store.apiKeys, kv },
  });
  closing.push(app);
  if (!options.store) closing.push(store);
  await app.ready();
  return { app, store };
}

const get = (app: FastifyInstance, url = `/api/v0/executions/workflows/${ksuid()}`, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
const limit = (requests: number, extra: Record<string, unknown> = {}) => ({ server: { rate_limit: { requests, period: '1h', ...extra } } });

function sqliteKv(dir = tempDir('rate-kv')): SqliteKv {
  const kv = SqliteKv.open(join(dir, 'kv.db'));
  closing.push(kv);
  return kv;
}

function expectRefused(answer: Awaited<ReturnType<typeof get>>, max: number): void {
  expect(answer.statusCode).toBe(429);
  expect(answer.json()).toMatchObject({ status: 429, error: { code: 'RATE_LIMITED', details: { limit: max, period: '1h' } } });
  expect(answer.headers['ratelimit-limit']).toBe(String(max));
  expect(answer.headers['ratelimit-remaining']).toBe('0');
  expect(Number(answer.headers['ratelimit-reset'])).toBeGreaterThan(0);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
}

describe('server.rate_limit settings', () => {
  it('parses the block (on unless enabled: false) and refuses unknown keys and bad values by name', () => {
    expect(loadSettings({ document: {} }, {}, {}).rateLimit.value.enabled).toBe(false);
    const parsed = loadSettings({ document: limit(5, { burst: 2, per_route: { '/api/v0/workflows/': { requests: 1 } } }) }, {}, {}).rateLimit.value;
    expect(parsed).toEqual({ enabled: true, requests: 5, period: '1h', periodMs: 3_600_000, burst: 2, perRoute: { '/api/v0/workflows': { requests: 1, period: '1h', periodMs: 3_600_000, burst: 2 } } });
    expect(loadSettings({ document: limit(5, { enabled: false }) }, {}, {}).rateLimit.value.enabled).toBe(false);
    expect(() => loadSettings({ document: limit(5, { window: '1m' }) }, {}, {})).toThrow(/server.rate_limit in compozy.yaml has unknown key window/);
    expect(() => loadSettings({ document: limit(0) }, {}, {})).toThrow(/requests must be a whole number ≥ 1/);
    expect(() => loadSettings({ document: limit(5, { period: '10ms' }) }, {}, {})).toThrow(/period must be a duration of at least 1s/);
    expect(() => loadSettings({ document: limit(5, { per_route: { 'api/v0': { requests: 1 } } }) }, {}, {})).toThrow(/starts with "\/"/);
    expect(() => loadSettings({ document: limit(5, { per_route: { '/api/v0': { max: 1 } } }) }, {}, {})).toThrow(/unknown key max/);
  });
});

describe('rate limits on the KV', () => {
  it('answers with RateLimit-* headers, then 429 RATE_LIMITED with Retry-After once the budget is spent; health is not counted', async () => {
    const { app } = await api(sqliteKv(), limit(3));
    const answers = [await get(app), await get(app), await get(app)];
    expect(answers.map((a) => a.statusCode)).toEqual([404, 404, 404]);
    expect(answers.map((a) => a.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
    expect(answers[0]?.headers['ratelimit-limit']).toBe('3');
    expect((await app.inject({ method: 'GET', url: '/api/v0/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expectRefused(await get(app), 3);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('two servers on one SQLite KV file share one budget', async () => {
    const dir = tempDir('rate-shared');
    const a = await api(sqliteKv(dir), limit(4));
    const b = await api(sqliteKv(dir), limit(4));
    expect([(await get(a.app)).statusCode, (await get(b.app)).statusCode, (await get(a.app)).statusCode, (await get(b.app)).statusCode]).toEqual([404, 404, 404, 404]);
    expectRefused(await get(a.app), 4);
    expectRefused(await get(b.app), 4);
  });

  it('with auth on, each API key has its own budget', async () => {
    const store = SqliteStore.open(join(tempDir('rate-keys'), 'compozy.db'));
    closing.push(store);
    const one = (await createKey(store.apiKeys, { name: 'one', scope: 'read', expiresAt: null })).key;
    const two = (await createKey(store.apiKeys, { name: 'two', scope: 'read', expiresAt: null })).key;
    const { app } = await api(sqliteKv(), limit(2), { host: '0.0.0.0', store });
    const as = (key: string) => get(app, undefined, { authorization: `Bearer ${key}` });
    expect([(await as(one)).statusCode, (await as(one)).statusCode]).toEqual([404, 404]);
    expectRefused(await as(one), 2);
    expect((await as(two)).statusCode).toBe(404);
  });

  it('401s count per client address: once an address has spent the budget its guesses get 429 unchecked, other addresses and a key it verified before keep working', async () => {
    const dir = tempDir('rate-guess');
    const store = SqliteStore.open(join(dir, 'compozy.db'));
    closing.push(store);
    const good = (await createKey(store.apiKeys, { name: 'good', scope: 'read', expiresAt: null })).key;
    const wrong = `${good.slice(0, -4)}AAAA`;
    const a = await api(sqliteKv(dir), limit(3), { host: '0.0.0.0', store });
    const b = await api(sqliteKv(dir), limit(3), { host: '0.0.0.0', store });
    const app = (server: FastifyInstance, address: string, url: string, headers: Record<string, string>) => server.inject({ method: 'GET', url, headers, remoteAddress: address });
    const from = (server: FastifyInstance, address: string, headers: Record<string, string>) => app(server, address, `/api/v0/executions/workflows/${ksuid()}`, headers);
    const guesser = '203.0.113.7';
    expect((await from(a.app, guesser, { authorization: `Bearer ${good}` })).statusCode).toBe(404);
    const failed = [await from(a.app, guesser, {}), await from(b.app, guesser, { authorization: `Bearer ${wrong}` }), await from(a.app, guesser, { 'x-api-key': 'guess' })];
    expect(failed.map((answer) => answer.statusCode)).toEqual([401, 401, 401]);
    expect(failed.map((answer) => answer.headers['ratelimit-remaining'])).toEqual(['2', '1', '0']);
    // The fourth failure of the address, on either server sharing the KV, is refused; from then on
    // a key this server has not verified before is not even looked at.
    const over = await from(b.app, guesser, { authorization: `Bearer ${wrong}` });
    expectRefused(over, 3);
    expect(over.headers['www-authenticate']).toBeUndefined();
    expectRefused(await from(b.app, guesser, { authorization: `Bearer ${good}` }), 3);
    expect((await from(a.app, guesser, { authorization: `Bearer ${good}` })).statusCode).toBe(404);
    // /api/v0/health would tell a key from a guess by its detail: a blocked address gets 429 there
    // too for any key it presents, and still its status without one.
    expectRefused(await app(b.app, guesser, '/api/v0/health', { 'x-api-key': 'guess' }), 3);
    expect((await app(b.app, guesser, '/api/v0/health', {})).statusCode).toBe(200);
    const other = await from(b.app, '198.51.100.2', { authorization: `Bearer ${wrong}` });
    expect(other.statusCode).toBe(401);
    expect(other.headers['www-authenticate']).toBe('Bearer');
  });

  it('401s are not counted when server.rate_limit is off', async () => {
    const store = SqliteStore.open(join(tempDir('rate-guess-off'), 'compozy.db'));
    closing.push(store);
    await createKey(store.apiKeys, { name: 'good', scope: 'read', expiresAt: null });
    const { app } = await api(sqliteKv(), { auth: { enabled: true } }, { store });
    const answers = await Promise.all(Array.from({ length: 5 }, () => get(app)));
    expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401, 401]);
    expect(answers[0]?.headers['ratelimit-limit']).toBeUndefined();
  });

  it('a key /api/v0/health finds not valid counts as a failed check of the address', async () => {
    const store = SqliteStore.open(join(tempDir('rate-guess-health'), 'compozy.db'));
    closing.push(store);
    await createKey(store.apiKeys, { name: 'good', scope: 'read', expiresAt: null });
    const { app } = await api(sqliteKv(), limit(2), { host: '0.0.0.0', store });
    const health = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v0/health', headers });
    expect([(await health({ 'x-api-key': 'one' })).statusCode, (await health({})).statusCode, (await health({ 'x-api-key': 'two' })).statusCode]).toEqual([200, 200, 200]);
    expectRefused(await health({ 'x-api-key': 'three' }), 2);
    expectRefused(await get(app), 2);
  });

  it('a per_route prefix has its own budget instead of the global one; a prefix no route has is refused at start', async () => {
    const { app } = await api(sqliteKv(), limit(10, { per_route: { '/api/v0/workflows': { requests: 1 } } }));
    expect((await get(app, '/api/v0/workflows')).statusCode).toBe(200);
    const refused = await get(app, '/api/v0/workflows/hello');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['ratelimit-limit']).toBe('1');
    const other = await get(app);
    expect(other.statusCode).toBe(404);
    expect(other.headers['ratelimit-remaining']).toBe('9');
    const error = await api(sqliteKv(), limit(10, { per_route: { '/api/v0/nothing': { requests: 1 } } })).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toContain('"/api/v0/nothing"');
  });

  it('a KV that fails refuses the request instead of letting it through unlimited', async () => {
    const kv = SqliteKv.open(join(tempDir('rate-closed'), 'kv.db'));
    const { app } = await api(kv, limit(3));
    await kv.close();
    const answer = await get(app);
    expect(answer.statusCode).toBeGreaterThanOrEqual(500);
    expect(answer.json().error.code).toMatch(/^KV_/);
  });

  it('burst: a window may take up to `burst` more when the previous one left them unused, and RateLimit-Remaining counts them', async () => {
    let now = 60_000 * 1000;
    const counter = new KvWindowCounter(sqliteKv(), () => now);
    const hits = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await counter.hit('c', 60_000, 3, 2)).current);
      return out;
    };
    // The previous window was empty: 3 + 2 fit, the 6th exceeds (current 4 > 3).
    expect(await hits(6)).toEqual([-1, 0, 1, 2, 3, 4]);
    now += 60_000;
    // The previous window used 6 of 3: nothing carries over.
    expect(await hits(4)).toEqual([1, 2, 3, 4]);
    now += 60_000;
    // 4 used of 3 before: still nothing; 2 unused would carry 2.
    expect(await hits(1)).toEqual([1]);
  });
});

describe('KvWindowCounter leases', () => {
  it('takes tokens in leases, so a busy client costs few KV writes; two processes never admit beyond the limit together', async () => {
    const kv = sqliteKv();
    let writes = 0;
    const counted = new Proxy(kv, { get: (target, name) => (name === 'incrBy' ? (...args: [string, number]) => (writes++, target.incrBy(...args)) : Reflect.get(target, name, target)) }) as Kv;
    const now = () => 3_600_000 * 1000 + 5;
    const a = new KvWindowCounter(counted, now);
    const b = new KvWindowCounter(counted, now);
    let admitted = 0;
    for (let i = 0; i < 2000; i++) if ((await (i % 2 === 0 ? a : b).hit('busy', 3_600_000, 1000, 0)).current <= 1000) admitted++;
    expect(admitted).toBeLessThanOrEqual(1000);
    expect(admitted).toBeGreaterThanOrEqual(1000 - 2 * 125);
    expect(writes).toBeLessThan(200);
    // A client that keeps busy under a big budget: each refill takes twice the last, up to 4096.
    writes = 0;
    const busy = new KvWindowCounter(counted, now);
    for (let i = 0; i < 20_000; i++) expect((await busy.hit('busier', 3_600_000, 1_000_000_000, 0)).current).toBe(i + 1);
    expect(writes).toBeLessThanOrEqual(6 + Math.ceil((20_000 - (4096 - 64)) / 4096));
    const concurrent = new KvWindowCounter(kv, now);
    const answers = await Promise.all(Array.from({ length: 50 }, () => concurrent.hit('burst-in', 3_600_000, 20, 0)));
    expect(answers.filter((answer) => answer.current <= 20)).toHaveLength(20);
    expect(new Set(answers.map((answer) => answer.current)).size).toBe(answers.filter((answer) => answer.current <= 20).length + 1);
  });
});

await withService('Redis', REDIS_URL, 6379, () => {
  describe('rate limits on Redis', () => {
    it('two servers on one Redis share one budget', async () => {
      const prefix = `compozy-test:${randomUUID()}:`;
      const connect = async () => {
        const kv = await RedisKv.connect({ url: REDIS_URL, prefix });
        closing.push(kv);
        return kv;
      };
      const a = await api(await connect(), limit(3));
      const b = await api(await connect(), limit(3));
      expect([(await get(a.app)).statusCode, (await get(b.app)).statusCode, (await get(b.app)).statusCode]).toEqual([404, 404, 404]);
      expectRefused(await get(a.app), 3);
      const keys = await (await connect()).keys('compozy:ratelimit:*');
      expect(keys).toHaveLength(1);
      expect((await (await connect()).pttl(keys[0] as string))).toBeGreaterThan(3_600_000);
    });
  });
});
