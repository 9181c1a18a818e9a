import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './fake-bin.js';

/** A temporary project directory with these files. */
export function writeFiles(files: Record<string, string>): string {
  const dir = tempDir('compozy-project-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
