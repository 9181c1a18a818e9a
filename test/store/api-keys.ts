import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { ApiKeyStore, NewApiKey } from '../../src/store/api-keys.js';
import { ksuid } from '../../src/store/ksuid.js';
import type { ExecutionStore } from '../../src/store/store.js';
import { errorCode } from '../helpers/errors.js';

function newKey(extra: Partial<NewApiKey> = {}): NewApiKey {
  const id = ksuid();
  return { id, name: `key ${id}`, scope: 'read', digest: createHash('sha256').update(id).digest('hex'), expiresAt: null, ...extra };
}

/** The ApiKeyStore contract (src/store/api-keys.ts) on one execution store adapter. */
export function defineApiKeyConformance(name: string, open: () => Promise<ExecutionStore>): void {
  describe(`ApiKeyStore conformance: ${name}`, () => {
    let store: ExecutionStore;
    let keys: ApiKeyStore;
    beforeEach(async () => {
      store = await open();
      if (!store.apiKeys) throw new Error(`the ${name} store keeps no API keys`);
      keys = store.apiKeys;
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates a key, finds it with its digest, lists it without one', async () => {
      const key = newKey({ scope: 'execute', expiresAt: '2999-01-01T00:00:00.000Z' });
      const created = await keys.createApiKey(key);
      expect(created).toEqual({ id: key.id, name: key.name, scope: 'execute', createdAt: expect.any(String), expiresAt: '2999-01-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null });
      expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
      expect(await keys.findActiveApiKey(key.id)).toEqual({ ...created, digest: key.digest });
      const listed = await keys.listApiKeys();
      expect(listed).toEqual([created]);
      expect(JSON.stringify(listed)).not.toContain(key.digest);
      expect(await keys.findActiveApiKey(ksuid())).toBeNull();
    });

    it('refuses a duplicate id, an unknown scope and a digest that is not SHA-256 hex', async () => {
      const key = newKey();
      await keys.createApiKey(key);
      expect(await errorCode(keys.createApiKey({ ...key, name: 'again' }))).toBe('STORE_INVALID_ARGUMENT');
      expect((await keys.listApiKeys()).map((k) => k.name)).toEqual([key.name]);
      expect(await errorCode(keys.createApiKey(newKey({ scope: 'root' as never })))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(keys.createApiKey(newKey({ digest: 'cpzy_plaintext' })))).toBe('STORE_INVALID_ARGUMENT');
      expect(await errorCode(keys.createApiKey(newKey({ expiresAt: 'tomorrow' })))).toBe('STORE_INVALID_ARGUMENT');
    });

    it('a revoked key is found no more than an unknown one, its digest is forgotten, and revoking again keeps the first time', async () => {
      const key = newKey();
      await keys.createApiKey(key);
      const revoked = await keys.revokeApiKey(key.id);
      expect(revoked?.revokedAt).toEqual(expect.any(String));
      expect(await keys.findActiveApiKey(key.id)).toBeNull();
      const again = await keys.revokeApiKey(key.id);
      expect(again?.revokedAt).toBe(revoked?.revokedAt);
      expect((await keys.listApiKeys())[0]?.revokedAt).toBe(revoked?.revokedAt);
      expect(await keys.revokeApiKey(ksuid())).toBeNull();
    });

    it('keeps the last-used time, never moving it back', async () => {
      const key = newKey();
      await keys.createApiKey(key);
      await keys.touchApiKey(key.id, '2030-01-01T00:00:10.000Z');
      await keys.touchApiKey(key.id, '2030-01-01T00:00:05.000Z');
      expect((await keys.findActiveApiKey(key.id))?.lastUsedAt).toBe('2030-01-01T00:00:10.000Z');
    });

    it('counts the keys that can authenticate now: not revoked, not expired', async () => {
      const now = '2030-06-01T00:00:00.000Z';
      expect(await keys.countUsableApiKeys(now)).toBe(0);
      await keys.createApiKey(newKey());
      await keys.createApiKey(newKey({ expiresAt: '2030-07-01T00:00:00.000Z' }));
      await keys.createApiKey(newKey({ expiresAt: '2030-05-01T00:00:00.000Z' }));
      const revoked = newKey();
      await keys.createApiKey(revoked);
      await keys.revokeApiKey(revoked.id);
      expect(await keys.countUsableApiKeys(now)).toBe(2);
    });
  });
}
