import { describe } from 'vitest';
import { tcpReachable } from '../../src/platform/ports.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Runs `define` when the service answers. Outside CI a missing service skips the suite with its
 * reason; under CI it fails, because those suites must never be skipped there.
 */
export async function withService(name: string, url: string, defaultPort: number, define: () => void): Promise<void> {
  await withServices([[name, url, defaultPort]], define);
}

/** withService for a suite that needs several services: all must answer. */
export async function withServices(services: readonly (readonly [name: string, url: string, defaultPort: number])[], define: () => void): Promise<void> {
  for (const [name, url, defaultPort] of services) {
    const parsed = new URL(url);
    if (await tcpReachable(parsed.hostname, parsed.port ? Number(parsed.port) : defaultPort, 1000)) continue;
    if (process.env.CI) throw new Error(`${name} at ${url} is not reachable, and under CI its suites must run. Start it (see .ci/run).`);
    describe.skip(`${name} at ${url} is not reachable`, () => undefined);
    return;
  }
  define();
}
