import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError, exitCodeFor } from '../../src/errors.js';
import { chooseApiPort, freePort, isPortFree } from '../../src/platform/ports.js';

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

describe('port selection', () => {
  it('keeps a free explicit port', async () => {
    const port = await freePort();
    await expect(chooseApiPort({ port, explicit: true })).resolves.toBe(port);
  });

  it('fails on a busy explicit port, naming the port and the pid holding it, as a usage error', async () => {
    const port = await occupy();
    const error = await chooseApiPort({ port, explicit: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).code).toBe('PORT_IN_USE');
    expect((error as CompozyError).message).toContain(`Port ${port} is already in use by pid ${process.pid}`);
    expect(exitCodeFor(error)).toBe(2);
  });

  it('moves past a busy default port to the next free one', async () => {
    let base = await occupy();
    // make sure base+1 is free so "next" is well defined
    while (!(await isPortFree(base + 1))) base = await occupy();
    await expect(chooseApiPort({ port: base, explicit: false })).resolves.toBeGreaterThan(base);
  });

  it('isPortFree tells busy from free', async () => {
    const busy = await occupy();
    expect(await isPortFree(busy)).toBe(false);
    expect(await isPortFree(await freePort())).toBe(true);
  });
});
