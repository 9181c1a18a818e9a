import { connect } from 'node:net';
import { describe } from 'vitest';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolvePromise) => {
    const socket = connect({ host: parsed.hostname, port: parsed.port ? Number(parsed.port) : defaultPort, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * Runs `define` when the service answers. Outside CI a missing service skips the suite with its
 * reason; under CI it fails, because those suites must never be skipped there.
 */
export async function withService(name: string, url: string, defaultPort: number, define: () => void): Promise<void> {
  if (await reachable(url, defaultPort)) {
    define();
    return;
  }
  if (process.env.CI) throw new Error(`${name} at ${url} is not reachable, and under CI its suites must run. Start it (see .ci/run).`);
  describe.skip(`${name} at ${url} is not reachable`, () => undefined);
}
