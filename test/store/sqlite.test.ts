import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/fake-bin.js';
import { defineStoreConformance } from './conformance.js';

defineStoreConformance('sqlite', async () => SqliteStore.open(join(tempDir('store'), 'compozy.db')));

describe('SqliteStore files', () => {
  it('a corrupt file is reported by name and left untouched', () => {
    const path = join(tempDir('store-corrupt'), 'compozy.db');
    const garbage = 'not a database\n'.repeat(500);
    writeFileSync(path, garbage);
    let error: unknown;
    try {
      SqliteStore.open(path);
    } catch (e) {
      error = e;
    }
    expect((error as CompozyError).code).toBe('STORE_OPEN_FAILED');
    expect((error as CompozyError).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe(garbage);
  });
});
