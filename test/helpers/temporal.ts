import { startTestServer } from '../../src/testing/test-server.js';

export interface TestTemporal {
  address: string;
  stop(): Promise<void>;
}

/**
 * A throwaway Temporal dev server (in memory) on a free port, for suites that run real workflows: the
 * test server of compozy/testing (@temporalio/testing running the cached CLI binary, waiting until it
 * serves, stopping it on teardown).
 */
export async function startTemporal(bin: string, dynamicConfig: string[] = []): Promise<TestTemporal> {
  const server = await startTestServer({ namespace: 'default', bin, dynamicConfig, log: (line) => process.stderr.write(`${line}\n`) });
  return { address: server.address, stop: () => server.stop() };
}
