import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError, exitCodeFor } from '../../src/errors.js';
import { bindPort, freePort, isPortFree } from '../../src/platform/ports.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
});

async function occupy(port = 0): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', () => done()));
  return (server.address() as { port: number }).port;
}

/** The bind of a real server, as serve does it: listen, and fail with the socket's own error. */
function listener(): { listen: (port: number) => Promise<void>; attempts: number[]; server: Server } {
  const server = createServer();
  servers.push(server);
  const attempts: number[] = [];
  return {
    server,
    attempts,
    listen: (port) =>
      new Promise<void>((resolvePromise, reject) => {
        attempts.push(port);
        const onError = (error: Error) => reject(error);
        server.once('error', onError);
        server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
          server.off('error', onError);
          resolvePromise();
        });
      }),
  };
}

/** A busy port whose next one is free, so "the next port" is well defined. */
async function busyWithFreeNext(): Promise<number> {
  for (;;) {
    const base = await occupy();
    if (await isPortFree(base + 1)) return base;
  }
}

describe('binding the API port', () => {
  it('binds a free requested port', async () => {
    const port = await freePort();
    const { listen, server } = listener();
    await expect(bindPort({ port, fallback: false }, listen)).resolves.toBe(port);
    expect((server.address() as { port: number }).port).toBe(port);
  });

  it('fails on a busy requested port, naming the port and the pid holding it, as a usage error, without trying another', async () => {
    const port = await occupy();
    const { listen, attempts } = listener();
    const error = await bindPort({ port, fallback: false }, listen).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('PORT_IN_USE');
    expect((error as CompozyError).message).toContain(`Port ${port} is already in use by pid ${process.pid}`);
    expect(exitCodeFor(error)).toBe(2);
    expect(attempts).toEqual([port]);
  });

  it('with fallback, moves past a busy port to the next one by binding, not by checking first', async () => {
    const base = await busyWithFreeNext();
    const { listen, attempts, server } = listener();
    await expect(bindPort({ port: base, fallback: true }, listen)).resolves.toBe(base + 1);
    expect(attempts).toEqual([base, base + 1]);
    expect((server.address() as { port: number }).port).toBe(base + 1);
  });

  it('port 0 binds any free port', async () => {
    const { listen, server } = listener();
    await expect(bindPort({ port: 0, fallback: false }, listen)).resolves.toBe(0);
    expect((server.address() as { port: number }).port).toBeGreaterThan(0);
  });

  it('passes on errors other than EADDRINUSE', async () => {
    const failure = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    await expect(bindPort({ port: 80, fallback: true }, () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('isPortFree tells busy from free', async () => {
    const busy = await occupy();
    expect(await isPortFree(busy)).toBe(false);
    expect(await isPortFree(await freePort())).toBe(true);
  });
});
