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
  default:
    throw new Error(`unknown mode ${mode}`);
}
await kv.close();
