import { createClient } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { RedisKv } from '../../src/kv/redis/redis-kv.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { tempDir } from '../helpers/fake-bin.js';
import { REDIS_URL, withService } from '../helpers/services.js';
import { defineMemoryConformance } from './conformance.js';

const RUN = `compozy-test:memory:${randomUUID()}`;

defineMemoryConformance('sqlite file', {
  async open() {
    return SqliteKv.open(join(tempDir('memory'), 'kv.db'));
  },
});

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect().catch(() => undefined);
  if (!client.isOpen) return;
  for await (const keys of client.scanIterator({ MATCH: `${RUN}:*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

await withService('Redis', REDIS_URL, 6379, () => {
  defineMemoryConformance('redis', {
    async open() {
      return RedisKv.connect({ url: REDIS_URL, prefix: `${RUN}:${randomUUID()}:` });
    },
  });
});
