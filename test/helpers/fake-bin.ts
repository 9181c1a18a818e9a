import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `compozy-${prefix}-`));
}

/** Writes an executable shell script and returns its path. */
export function writeScript(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A stand-in `temporal` that only answers --version. */
export function fakeTemporal(dir: string, version = '1.5.1'): string {
  return writeScript(dir, 'temporal', `echo "temporal version ${version} (Server 1.29.1, UI 2.42.1)"`);
}
