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

/**
 * A `temporal` that fails its first start the way a lost port race does ("address already in use"),
 * then runs the real CLI at `realBin`: what a start must survive by choosing another port.
 */
export function portRacingTemporal(dir: string, realBin: string): string {
  return writeScript(
    dir,
    'temporal',
    `if [ "$1" = "--version" ]; then exec "${realBin}" --version; fi
if [ ! -e "${dir}/lost-once" ]; then
  touch "${dir}/lost-once"
  echo '{"level":"ERROR","msg":"failed starting server: listen tcp 127.0.0.1:7233: bind: address already in use"}' >&2
  exit 1
fi
exec "${realBin}" "$@"`,
  );
}
