import { createClient } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
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

describe('RedisKv connection errors', () => {
  it('an unreachable Redis is an error naming the URL, without its password', async () => {
    const error = await RedisKv.connect({ url: 'redis://:secret@127.0.0.1:1', connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('KV_UNAVAILABLE');
    expect((error as CompozyError).message).toContain('redis://:***@127.0.0.1:1');
    expect((error as CompozyError).message).not.toContain('secret');
  });
});
