import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { DATABASE_URL, withService } from '../helpers/services.js';
import { defineApiKeyConformance } from './api-keys.js';
import { defineStoreConformance } from './conformance.js';

const schemas: string[] = [];

afterAll(async () => {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

await withService('PostgreSQL', DATABASE_URL, 5432, () => {
  const freshSchema = async () => {
    const schema = `compozy_test_${randomUUID().replace(/-/g, '')}`;
    schemas.push(schema);
    return PostgresStore.connect({ url: DATABASE_URL, schema });
  };
  defineStoreConformance('postgres', freshSchema);
  defineApiKeyConformance('postgres', freshSchema);

  it('two stores migrating the same schema at once both succeed (advisory lock)', async () => {
    const schema = `compozy_test_${randomUUID().replace(/-/g, '')}`;
    schemas.push(schema);
    const [a, b] = await Promise.all([PostgresStore.connect({ url: DATABASE_URL, schema }), PostgresStore.connect({ url: DATABASE_URL, schema })]);
    await a.ping();
    await b.ping();
    await a.close();
    await b.close();
  });
});

describe('PostgresStore connection errors', () => {
  it('an unreachable server is an error naming the URL without its password', async () => {
    const error = await PostgresStore.connect({ url: 'postgres://user:secret@127.0.0.1:1/db', connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('STORE_UNAVAILABLE');
    expect((error as CompozyError).message).toContain('postgres://user:***@127.0.0.1:1/db');
    expect((error as CompozyError).message).not.toContain('secret');
  });
});
