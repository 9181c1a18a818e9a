import { execFile } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';
import { tempDir } from '../helpers/fake-bin.js';

const run = promisify(execFile);

describe('npx compozy in a clone', () => {
  const cache = tempDir('npx-cache');
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it('runs the built command at once: npm links the clone into a fresh npx cache, and its prepare does not build again', async () => {
    const built = join(REPO, 'dist', 'index.js');
    const before = statSync(built).mtimeMs;
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
    const { stdout, stderr } = await run('npx', ['compozy', '--version'], { cwd: REPO, env: { ...env, npm_config_cache: cache }, timeout: 120_000 });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(stderr).not.toContain('tsc -p');
    expect(statSync(built).mtimeMs).toBe(before);
  }, 150_000);
});
