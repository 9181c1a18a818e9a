// The KV contract on the embedded SQLite adapter against the Redis adapter (same client code paths),
// one awaited caller and 100 in flight (node-redis pipelines every command issued in one turn into one
// socket write, so Redis runs pipelined), plus cross-process pub/sub latency and the per-write cost of
// synchronous=NORMAL versus FULL. SQLite and Redis are measured in alternating slices. Last line: one
// JSON object.
import { spawn } from 'node:child_process';
import { createClient } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteKv } from '../dist/kv/sqlite/sqlite-kv.js';
import { RedisKv } from '../dist/kv/redis/redis-kv.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'compozy-bench-kv-'));
const dbPath = join(dir, 'kv.db');
const sqlite = SqliteKv.open(dbPath);
const prefix = `compozy-bench:${randomUUID()}:`;
const redis = await RedisKv.connect({ url: REDIS_URL, prefix });
const backends = { sqlite, redis };

const value = 'x'.repeat(100);
const allOperations = {
  get: (kv, i) => kv.get(`key:${i % 1000}`),
  // A new value each time, as a real write: SQLite skips a row whose bytes do not change, so
  // rewriting the same value would commit nothing.
  set: (kv, i) => kv.set(`key:${i % 1000}`, `${i}`.padStart(8, '0') + value),
  incr: (kv) => kv.incrBy('counter', 1),
  hget: (kv, i) => kv.hget('hash', `f${i % 100}`),
  lock: async (kv, i) => {
    const lock = await kv.acquire(`res:${i % 100}`, 5000);
    await lock.release();
  },
  appendAndTrim: (kv, i) => kv.appendAndTrim(`mem:${i % 10}`, `mem:${i % 10}:meta`, [value], { maxLen: 50, tokenDelta: 7, ttlMs: 60_000 }),
  // The operation alone, as for the others (no subscriber: on Redis, a subscriber in this process would
  // measure node-redis parsing its messages); delivery is measured across processes below.
  publish: (kv) => kv.publish('bench:ops', value),
};

/** BENCH_OPS=get,lock measures only those operations (and skips the commit-cost and pub/sub figures unless named: commit, pubsub). */
const only = process.env.BENCH_OPS?.split(',');
const operations = Object.fromEntries(Object.entries(allOperations).filter(([name]) => !only || only.includes(name)));

async function prepare(kv) {
  for (let i = 0; i < 1000; i++) await kv.set(`key:${i}`, value);
  const fields = {};
  for (let i = 0; i < 100; i++) fields[`f${i}`] = value;
  await kv.hset('hash', fields);
}

/** Operations done and milliseconds taken over `ms`, with `inFlight` calls outstanding at any time. */
async function slice(kv, op, inFlight, ms) {
  let i = 0;
  const started = performance.now();
  const deadline = started + ms;
  const lane = async () => {
    while (performance.now() < deadline) await op(kv, i++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { ops: i, ms: performance.now() - started };
}

/**
 * ops/s of both backends over DURATION_MS each, in ROUNDS slices that alternate the backends (and which
 * goes first), so the load of a shared machine, which drifts within seconds, weighs on both alike.
 */
async function measure(op, inFlight) {
  const totals = { sqlite: { ops: 0, ms: 0 }, redis: { ops: 0, ms: 0 } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? ['sqlite', 'redis'] : ['redis', 'sqlite']) {
      const { ops, ms } = await slice(backends[name], op, inFlight, DURATION_MS / ROUNDS);
      totals[name].ops += ops;
      totals[name].ms += ms;
    }
  }
  return { s: Math.round(totals.sqlite.ops / (totals.sqlite.ms / 1000)), r: Math.round(totals.redis.ops / (totals.redis.ms / 1000)) };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A subscriber in another process reports each message's delay (CLOCK_MONOTONIC is shared by processes). */
async function pubsubLatency(kind, publisher, count = 400) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'kv-subscriber.js'), kind, kind === 'sqlite' ? dbPath : REDIS_URL, prefix, String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  while (!output.includes('ready')) await new Promise((r) => setTimeout(r, 5));
  for (let n = 0; n < count; n++) {
    await publisher.publish('bench', { sentAt: process.hrtime.bigint().toString() });
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => child.on('close', r));
  const delays = JSON.parse(output.slice(output.indexOf('\n') + 1)).sort((a, b) => a - b);
  return { p50: Number(percentile(delays, 50).toFixed(3)), p99: Number(percentile(delays, 99).toFixed(3)), received: delays.length };
}

await prepare(sqlite);
await prepare(redis);
const figures = {};
for (const [name, op] of Object.entries(operations)) {
  for (const inFlight of [1, 100]) {
    const { s, r } = await measure(op, inFlight);
    const label = inFlight === 1 ? 'awaited' : 'inflight100';
    figures[`${name}_${label}_sqlite_ops`] = s;
    figures[`${name}_${label}_redis_ops`] = r;
    figures[`${name}_${label}_ratio`] = Number((s / r).toFixed(2));
    console.log(`${name.padEnd(14)} ${label.padEnd(12)} sqlite ${String(s).padStart(8)}/s  redis ${String(r).padStart(8)}/s  ratio ${(s / r).toFixed(2)}`);
  }
}
/**
 * What durability costs per commit: one-row UPDATE transactions on a WAL file with synchronous=NORMAL
 * (the adapter's setting: fsync at checkpoints) and FULL (fsync at every commit), one write per commit
 * and 100 per commit (what a group commit of 100 in flight pays).
 */
function commitCost(synchronous, perCommit) {
  const db = new DatabaseSync(join(dir, `sync-${synchronous}.db`));
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT);`);
  const insert = db.prepare('INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)');
  const update = db.prepare('UPDATE t SET v = ? WHERE k = ?');
  for (let k = 0; k < 1000; k++) insert.run(k, value);
  let writes = 0;
  const started = performance.now();
  while (performance.now() - started < DURATION_MS / 2) {
    db.exec('BEGIN IMMEDIATE');
    for (let n = 0; n < perCommit; n++) update.run(value, writes++ % 1000);
    db.exec('COMMIT');
  }
  const us = ((performance.now() - started) * 1000) / writes;
  db.close();
  return Number(us.toFixed(2));
}
for (const synchronous of !only || only.includes('commit') ? ['NORMAL', 'FULL'] : []) {
  for (const perCommit of [1, 100]) {
    const us = commitCost(synchronous, perCommit);
    figures[`write_${synchronous.toLowerCase()}_${perCommit}_per_commit_us`] = us;
    console.log(`synchronous=${synchronous.padEnd(6)} ${String(perCommit).padStart(3)} write(s)/commit: ${us} µs per write`);
  }
}
if (!only || only.includes('pubsub')) {
  const sqlitePubsub = await pubsubLatency('sqlite', sqlite);
  const redisPubsub = await pubsubLatency('redis', redis);
  console.log(`pub/sub cross-process latency ms: sqlite p50 ${sqlitePubsub.p50} p99 ${sqlitePubsub.p99}; redis p50 ${redisPubsub.p50} p99 ${redisPubsub.p99}`);
  Object.assign(figures, {
    pubsub_sqlite_p50_ms: sqlitePubsub.p50,
    pubsub_sqlite_p99_ms: sqlitePubsub.p99,
    pubsub_sqlite_received: sqlitePubsub.received,
    pubsub_redis_p50_ms: redisPubsub.p50,
    pubsub_redis_p99_ms: redisPubsub.p99,
  });
}
Object.assign(figures, {
  duration_ms_per_measure: DURATION_MS,
  rounds: ROUNDS,
  load_average_1m: Number(loadavg()[0]?.toFixed(2)),
});

for await (const key of redis.scan('*', { count: 1000 })) await redis.del(key);
// The locks' fencing counters live beside the keyspace (they outlive their locks by design): removed with the run's prefix.
const raw = await createClient({ url: REDIS_URL }).connect();
for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await raw.del(keys);
await raw.quit();
await sqlite.close();
await redis.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(figures));
