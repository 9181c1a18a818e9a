import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFixture, REPO, runCli } from '../helpers/cli.js';
import { fakeTemporal, tempDir } from '../helpers/fake-bin.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  server = undefined;
});

/** A release host serving an archive of a stand-in temporal binary. */
async function releaseHost(): Promise<string> {
  const staging = tempDir('archive');
  fakeTemporal(staging);
  const archive = join(staging, 'temporal.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', staging, 'temporal']);
  server = createServer((request, response) => (request.method === 'HEAD' ? response.end() : response.end(readFileSync(archive))));
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', () => done()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('CLI messages', () => {
  it('temporal install --json and temporal path --json print one shape: {path, source, version}', async () => {
    const env = { XDG_CACHE_HOME: join(tempDir('cache'), 'cache'), COMPOZY_TEMPORAL_RELEASE_HOST: await releaseHost(), COMPOZY_TEMPORAL_BIN: '', CI: '1' };
    const fresh = await runCli(['temporal', 'install', '--json'], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    const path = join(env.XDG_CACHE_HOME, 'compozy', 'temporal', '1.5.1', 'temporal');
    expect(JSON.parse(fresh.stdout)).toEqual({ path, source: 'installed', version: '1.5.1' });
    const again = await runCli(['temporal', 'install', '--json'], env);
    expect(JSON.parse(again.stdout)).toEqual({ path, source: 'cache', version: '1.5.1' });
    const resolved = await runCli(['temporal', 'path', '--json'], env);
    expect(JSON.parse(resolved.stdout)).toEqual({ path, source: 'cache', version: '1.5.1' });
  });

  it('status names the project in its hint when it is not the current folder', async () => {
    const project = copyFixture('engine-api');
    const elsewhere = await runCli(['status', basename(project)], { CI: '1' }, dirname(project));
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(`Start it with \`compozy dev ${basename(project)}\`.`);
    const here = await runCli(['status'], { CI: '1' }, project);
    expect(here.stderr).toContain('Start it with `compozy dev`.');
  });

  it('config validate counts in agreeing plurals', async () => {
    const project = join(tempDir('plural'), 'one');
    expect((await runCli(['init', project, '--yes'], { CI: '1' })).code).toBe(0);
    const valid = await runCli(['config', 'validate', project], { CI: '1' });
    expect(valid.stdout).toContain('one: 1 workflow, 2 top-level tasks, 1 agent — valid');
    const invalid = await runCli(['config', 'validate', join(REPO, 'test', 'fixtures', 'config-syntax')], { CI: '1' });
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toContain('1 problem in ');
  });
});
