// Child of bench/kv.js: subscribes, then prints each message's delay in ms as a JSON array.
import { SqliteKv } from '../dist/kv/sqlite/sqlite-kv.js';
import { RedisKv } from '../dist/kv/redis/redis-kv.js';

const [kind, location, prefix, countText] = process.argv.slice(2);
const count = Number(countText);
const kv = kind === 'sqlite' ? SqliteKv.open(location) : await RedisKv.connect({ url: location, prefix });
const sub = await kv.subscribe('bench');
process.stdout.write('ready\n');
const delays = [];
const timeout = setTimeout(() => sub.unsubscribe(), 30_000);
for await (const message of sub) {
  delays.push(Number(process.hrtime.bigint() - BigInt(message.data.sentAt)) / 1e6);
  if (delays.length === count) break;
}
clearTimeout(timeout);
process.stdout.write(JSON.stringify(delays));
await kv.close();
