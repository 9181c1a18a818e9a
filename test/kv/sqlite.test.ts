import { join } from 'node:path';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { tempDir } from '../helpers/fake-bin.js';
import { defineKvConformance } from './conformance.js';

const files = new WeakMap<object, string>();

defineKvConformance('sqlite file', {
  async open() {
    const path = join(tempDir('kv'), 'kv.db');
    const kv = SqliteKv.open(path);
    files.set(kv, path);
    return kv;
  },
  async reopen(first) {
    return SqliteKv.open(files.get(first) as string);
  },
});

defineKvConformance('sqlite :memory:', {
  async open() {
    return SqliteKv.open(':memory:');
  },
});
