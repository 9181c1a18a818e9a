import { createClient } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { RedisKv } from '../../src/kv/redis/redis-kv.js';
import { REDIS_URL, withService } from '../helpers/services.js';
import { defineKvConformance } from './conformance.js';

const RUN = `compozy-test:${randomUUID()}`;
const prefixes = new WeakMap<Kv, string>();

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${RUN}:*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

await withService('Redis', REDIS_URL, 6379, () => {
  defineKvConformance('redis', {
    async open() {
      const prefix = `${RUN}:${randomUUID()}:`;
      const kv = await RedisKv.connect({ url: REDIS_URL, prefix });
      prefixes.set(kv, prefix);
      return kv;
    },
    async reopen(first) {
      return RedisKv.connect({ url: REDIS_URL, prefix: prefixes.get(first) as string });
    },
  });
});
