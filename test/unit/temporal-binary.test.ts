import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { cachedBinaryPath, resolveTemporalBinary } from '../../src/temporal/binary.js';
import { installTemporalCli, type InstallEvent } from '../../src/temporal/install.js';
import { fakeTemporal, tempDir, writeScript } from '../helpers/fake-bin.js';

/** An environment with nothing on PATH but the given dirs and the basics (sh, tar). */
function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const root = tempDir('resolver');
  return { HOME: root, XDG_CACHE_HOME: join(root, 'cache'), PATH: '/usr/bin:/bin', COMPOZY_TEMPORAL_RELEASE_HOST: 'http://127.0.0.1:9', ...extra };
}

describe('resolveTemporalBinary', () => {
  it('prefers --temporal-bin over env, config and PATH', async () => {
    const dir = tempDir('bins');
    const flag = fakeTemporal(join(dir, 'flag'), '1.5.1');
    const envBin = fakeTemporal(join(dir, 'env'), '1.4.0');
    const pathDir = join(dir, 'path');
    fakeTemporal(pathDir, '1.3.0');
    const env = isolatedEnv({ COMPOZY_TEMPORAL_BIN: envBin, PATH: `${pathDir}:/usr/bin:/bin` });
    await expect(resolveTemporalBinary({ flag, env })).resolves.toEqual({ path: flag, source: 'flag', version: '1.5.1' });
    await expect(resolveTemporalBinary({ env })).resolves.toEqual({ path: envBin, source: 'env', version: '1.4.0' });
    const config = fakeTemporal(join(dir, 'config'), '1.2.0');
    await expect(resolveTemporalBinary({ config, env: { ...env, COMPOZY_TEMPORAL_BIN: undefined } })).resolves.toMatchObject({ source: 'config', version: '1.2.0' });
    await expect(resolveTemporalBinary({ env: { ...env, COMPOZY_TEMPORAL_BIN: undefined } })).resolves.toEqual({ path: join(pathDir, 'temporal'), source: 'path', version: '1.3.0' });
  });

  it('uses the per-version cache when nothing else is configured, without running an install', async () => {
    const env = isolatedEnv();
    const cached = cachedBinaryPath(env);
    fakeTemporal(join(cached, '..'));
    await expect(resolveTemporalBinary({ env, install: true })).resolves.toEqual({ path: cached, source: 'cache', version: '1.5.1' });
    expect(cached.startsWith(join(env.XDG_CACHE_HOME as string, 'compozy', 'temporal', '1.5.1'))).toBe(true);
  });

  it('an explicit path to the per-version cache is that version without running it; any other explicit path is asked', async () => {
    const env = isolatedEnv();
    const cached = cachedBinaryPath(env);
    // A script that fails if it is run: the cache's version comes from its folder, as the cache source's does.
    writeScript(join(cached, '..'), 'temporal', 'echo ran >> "$0.runs"; exit 3');
    await expect(resolveTemporalBinary({ env: { ...env, COMPOZY_TEMPORAL_BIN: cached } })).resolves.toEqual({ path: cached, source: 'env', version: '1.5.1' });
    await expect(resolveTemporalBinary({ flag: cached, env })).resolves.toEqual({ path: cached, source: 'flag', version: '1.5.1' });
    expect(existsSync(`${cached}.runs`)).toBe(false);
    const copy = join(tempDir('copy'), 'temporal');
    writeScript(join(copy, '..'), 'temporal', 'echo ran >> "$0.runs"; exit 3');
    await expect(resolveTemporalBinary({ flag: copy, env })).rejects.toThrow(`${copy} did not run as the Temporal CLI`);
    expect(existsSync(`${copy}.runs`)).toBe(true);
  });

  it('rejects an explicit path that does not exist instead of looking elsewhere', async () => {
    const pathDir = tempDir('path');
    fakeTemporal(pathDir);
    const env = isolatedEnv({ COMPOZY_TEMPORAL_BIN: '/nonexistent/temporal', PATH: `${pathDir}:/usr/bin:/bin` });
    const error = await resolveTemporalBinary({ env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('TEMPORAL_BINARY_NOT_FOUND');
    expect((error as CompozyError).message).toContain('COMPOZY_TEMPORAL_BIN points to /nonexistent/temporal');
    expect((error as CompozyError).hint).toContain('unset');
  });

  it('rejects a binary that is not the Temporal CLI', async () => {
    const impostor = writeScript(tempDir('impostor'), 'temporal', 'echo hello');
    const error = await resolveTemporalBinary({ flag: impostor, env: isolatedEnv() }).catch((e: unknown) => e);
    expect((error as CompozyError).message).toMatch(/does not look like the Temporal CLI/);
  });

  it('without install, says how to get one', async () => {
    const error = await resolveTemporalBinary({ env: isolatedEnv() }).catch((e: unknown) => e);
    expect((error as CompozyError).code).toBe('TEMPORAL_BINARY_NOT_FOUND');
    expect((error as CompozyError).hint).toMatch(/compozy temporal install/);
  });
});

describe('installTemporalCli', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  /** A fake `go` that records each call and "builds" a temporal binary into $GOBIN after a delay. */
  function fakeGo(dir: string, behaviour = ''): string {
    return writeScript(
      dir,
      'go',
      `echo "$@" >> "${dir}/calls"
${behaviour}
sleep 0.3
printf '#!/bin/sh\\necho "temporal version 1.5.1 (Server 1.29.1)"\\n' > "$GOBIN/temporal"
chmod +x "$GOBIN/temporal"`,
    );
  }

  it('builds with go install when the release host is unreachable, once for concurrent callers', async () => {
    const goDir = tempDir('go');
    fakeGo(goDir);
    const env = isolatedEnv({ PATH: `${goDir}:/usr/bin:/bin` });
    const events: InstallEvent[] = [];
    const [a, b] = await Promise.all([installTemporalCli({ env, onProgress: (e) => events.push(e) }), installTemporalCli({ env })]);
    const calls = readFileSync(join(goDir, 'calls'), 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toContain('install');
    expect(calls[0]).toContain('github.com/temporalio/cli/cmd/temporal@v1.5.1');
    expect(calls[0]).toContain('-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version=1.5.1 -X go.temporal.io/sdk/internal.binaryChecksum=compozy-temporal-cli-1.5.1');
    expect([a.fresh, b.fresh].sort()).toEqual([false, true]);
    expect(a.path).toBe(cachedBinaryPath(env));
    expect(execFileSync(a.path, ['--version']).toString()).toContain('1.5.1');
    expect(events.some((e) => e.message.includes('building from the Go module proxy'))).toBe(true);
    expect(existsSync(join(cachedBinaryPath(env), '..', '.install.lock'))).toBe(false);
  });

  it('retries with GOSUMDB=off, and says so, when only the checksum database is unreachable', async () => {
    const goDir = tempDir('go-sumdb');
    fakeGo(goDir, `if [ "$GOSUMDB" != "off" ]; then echo "verifying github.com/temporalio/cli@v1.5.1: Get https://sum.golang.org/lookup: dial tcp: lookup sum.golang.org: no such host" >&2; exit 1; fi`);
    const env = isolatedEnv({ PATH: `${goDir}:/usr/bin:/bin` });
    const events: InstallEvent[] = [];
    const result = await installTemporalCli({ env, onProgress: (e) => events.push(e) });
    expect(result.method).toBe('go');
    expect(readFileSync(join(goDir, 'calls'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(events.some((e) => e.message.includes('GOSUMDB=off'))).toBe(true);
  });

  it('reports go install failures with the tail of its output and the log path', async () => {
    const goDir = tempDir('go-fail');
    writeScript(goDir, 'go', 'echo "go: module github.com/temporalio/cli: not found" >&2; exit 1');
    const env = isolatedEnv({ PATH: `${goDir}:/usr/bin:/bin` });
    const error = await installTemporalCli({ env }).catch((e: unknown) => e);
    expect((error as CompozyError).code).toBe('TEMPORAL_INSTALL_FAILED');
    expect((error as CompozyError).message).toContain('module github.com/temporalio/cli: not found');
    expect((error as CompozyError).hint).toContain('install.log');
    expect(existsSync(cachedBinaryPath(env))).toBe(false);
  });

  it('fails with both ways to fix it when offline and without Go', async () => {
    const error = await installTemporalCli({ env: isolatedEnv() }).catch((e: unknown) => e);
    expect((error as CompozyError).code).toBe('TEMPORAL_INSTALL_FAILED');
    expect((error as CompozyError).hint).toMatch(/connect to the internet/);
    expect((error as CompozyError).hint).toMatch(/go install github.com\/temporalio\/cli\/cmd\/temporal@v1.5.1/);
  });

  it('downloads and unpacks the release archive when the release host answers', async () => {
    const staging = tempDir('archive');
    fakeTemporal(staging);
    const archive = join(staging, 'temporal.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', staging, 'temporal']);
    const requested: string[] = [];
    server = createServer((request, response) => {
      requested.push(request.url ?? '');
      if (request.method === 'HEAD') return response.end();
      response.end(readFileSync(archive));
    });
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', () => done()));
    const port = (server.address() as { port: number }).port;
    const env = isolatedEnv({ COMPOZY_TEMPORAL_RELEASE_HOST: `http://127.0.0.1:${port}` });
    mkdirSync(env.XDG_CACHE_HOME as string, { recursive: true });
    const result = await installTemporalCli({ env });
    expect(result).toMatchObject({ method: 'download', fresh: true });
    expect(requested.some((url) => url.startsWith('/cli/archive/v1.5.1?platform=linux&arch='))).toBe(true);
    expect(execFileSync(result.path, ['--version']).toString()).toContain('temporal version 1.5.1');
  });
});
