import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { devApi } from '../../src/cli/dev-api.js';
import { writeRunState, type RunState } from '../../src/platform/run-state.js';
import { tempDir } from '../helpers/fake-bin.js';

const servers: Server[] = [];

/** A /readyz that answers as a serve with this pid would. */
async function readyz(pid: number, status = 200): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: status === 200 ? 'ready' : 'not-ready', pid }));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function state(apiUrl: string, supervisorPid = process.pid, servePid = 4242): string {
  const dir = tempDir('dev-api');
  const run: RunState = {
    version: 1, supervisorPid, project: 'p', projectDir: dir, mode: 'standalone', startedAt: new Date(0).toISOString(), apiUrl, temporalAddress: '127.0.0.1:7233',
    children: { serve: { pid: servePid, state: 'up', restarts: 0, logFile: 'serve.log', signature: [] } },
  };
  writeRunState(dir, run);
  return dir;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
});

describe('devApi: the API of the compozy dev running for a project', () => {
  it('none without a state file, stale when its supervisor has exited', async () => {
    expect(await devApi(tempDir('dev-api'))).toEqual({ state: 'none' });
    expect(await devApi(state('http://127.0.0.1:1', 2 ** 22 + 12345))).toEqual({ state: 'stale', supervisorPid: 2 ** 22 + 12345 });
  });

  it('up when the serve dev started answers /readyz, ready or not', async () => {
    const ready = await readyz(4242);
    expect(await devApi(state(ready))).toEqual({ state: 'up', supervisorPid: process.pid, url: ready, ready: true });
    const starting = await readyz(4242, 503);
    expect(await devApi(state(starting))).toEqual({ state: 'up', supervisorPid: process.pid, url: starting, ready: false });
  });

  it('unreachable when nothing answers, or another process answers on its port', async () => {
    expect(await devApi(state('http://127.0.0.1:1'))).toMatchObject({ state: 'unreachable', url: 'http://127.0.0.1:1', reason: expect.any(String) });
    const other = await readyz(999);
    expect(await devApi(state(other))).toMatchObject({ state: 'unreachable', url: other, reason: 'pid 999 answers there, not the serve (pid 4242) that compozy dev started' });
  });
});
