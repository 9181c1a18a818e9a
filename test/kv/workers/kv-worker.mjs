// A separate OS process working on a shared SQLite KV file (tests spawn several of these).
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteKv } from '../../../dist/kv/sqlite/sqlite-kv.js';

const [mode, path, ...args] = process.argv.slice(2);
const kv = SqliteKv.open(path);
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

switch (mode) {
  case 'incr': {
    const n = Number(args[0]);
    for (let i = 0; i < n; i++) await kv.incrBy('counter', 1);
    break;
  }
  case 'lock': {
    const rounds = Number(args[0]);
    for (let i = 0; i < rounds; i++) {
      const lock = await kv.acquire('shared', 5000, { waitMs: 30_000, retryMs: 1 });
      // Inside the critical section nobody else may be: the marker must be free.
      if (!(await kv.set('inside', String(process.pid), { nx: true }))) await kv.rpush('violations', String(process.pid));
      await kv.rpush('fences', lock.fencingToken.toString());
      await sleep(1);
      await kv.del('inside');
      await lock.release();
    }
    break;
  }
  case 'psubscribe': {
    const sub = await kv.psubscribe(args[0]);
    say({ ready: true });
    for await (const message of sub) {
      say(message);
      break;
    }
    break;
  }
  case 'publish': {
    say({ receivers: await kv.publish(args[0], JSON.parse(args[1])) });
    break;
  }
  case 'consume-and-hang': {
    await kv.broker.consume(args[0], async (delivery) => {
      say({ body: delivery.body, attempt: delivery.attempt });
      await new Promise(() => undefined);
    });
    await new Promise(() => undefined);
    break;
  }
  case 'consume-one': {
    await new Promise((resolve) => {
      void kv.broker.consume(args[0], async (delivery) => {
        say({ body: delivery.body, attempt: delivery.attempt });
        await delivery.ack();
        resolve();
      });
    });
    break;
  }
  case 'write-then-hang': {
    await kv.set('s', 'value', { px: 600_000 });
    await kv.set('n', 7);
    await kv.rpush('l', 'a', 'b', 'c');
    await kv.hset('h', { f: '1', g: 'two' });
    await kv.appendAndTrim('mem', 'mem:meta', ['m1', 'm2'], { maxLen: 10, tokenDelta: 3, ttlMs: 600_000 });
    say({ written: true });
    setInterval(() => undefined, 1000);
    await new Promise(() => undefined);
    break;
  }
  case 'mixed': {
    // `lanes` concurrent clients, each issuing a seeded sequence of mixed operations on its own three keys in
    // chunks that are not awaited one by one (so a chunk shares a group commit), plus a counter every lane shares.
    const [lanes, perLane, tag] = [Number(args[0]), Number(args[1]), args[2]];
    const lane = async (id) => {
      let seed = [...`${tag}:${id}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261) >>> 0;
      const random = (n) => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed % n;
      };
      const keys = ['s', 'l', 'h'].map((k) => `${tag}:${id}:${k}`);
      const values = ['7', '-3', 'abc', '0', '012'];
      const ops = [];
      const results = [];
      while (ops.length < perLane) {
        const chunk = [];
        for (let n = 1 + random(8); n > 0 && ops.length < perLane; n--) {
          const key = keys[random(3)];
          const kind = ['set', 'get', 'incr', 'rpush', 'lrange', 'hincr', 'hget', 'del', 'shared'][random(9)];
          const op =
            kind === 'set' || kind === 'rpush' ? [kind, key, values[random(values.length)]] : kind === 'incr' ? [kind, key, random(5) - 2] : kind === 'hincr' ? [kind, key, `f${random(3)}`, random(5) - 2] : kind === 'hget' ? [kind, key, `f${random(3)}`] : kind === 'shared' ? [kind] : [kind, key];
          ops.push(op);
          const call = {
            set: () => kv.set(op[1], op[2]),
            get: () => kv.get(op[1]),
            incr: () => kv.incrBy(op[1], op[2]),
            rpush: () => kv.rpush(op[1], op[2]),
            lrange: () => kv.lrange(op[1], 0, -1),
            hincr: () => kv.hincrBy(op[1], op[2], op[3]),
            hget: () => kv.hget(op[1], op[2]),
            del: () => kv.del(op[1]),
            shared: () => kv.incrBy('shared:counter', 1),
          }[kind];
          chunk.push(call().then((value) => ({ value }), (error) => ({ error: error.code ?? String(error) })));
        }
        results.push(...(await Promise.all(chunk)));
      }
      say({ lane: id, ops, results });
    };
    await Promise.all(Array.from({ length: lanes }, (_, id) => lane(id)));
    break;
  }
  case 'rounds': {
    // Round r: 100 keys, one list item and one counter step issued in one turn (one group commit); acknowledged once committed.
    const tag = args[0];
    for (let r = 1; ; r++) {
      const writes = Array.from({ length: 100 }, (_, i) => kv.set(`${tag}:${r}:${i}`, r));
      writes.push(kv.rpush(`${tag}:log`, r), kv.hincrBy('meta', tag, 1));
      await Promise.all(writes);
      say({ acked: r });
    }
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
await kv.close();
