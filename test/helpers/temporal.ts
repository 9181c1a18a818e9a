import { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../../src/platform/ports.js';

export interface TestTemporal {
  address: string;
  stop(): Promise<void>;
}

/**
 * A throwaway Temporal dev server (in memory) on a free port, for suites that run real workflows:
 * @temporalio/testing runs the cached CLI binary, waits until it serves, and stops it on teardown.
 */
export async function startTemporal(bin: string, dynamicConfig: string[] = []): Promise<TestTemporal> {
  const port = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: bin },
      ip: '127.0.0.1',
      port,
      namespace: 'default',
      log: { format: 'pretty', level: 'error' },
      extraArgs: ['--headless', ...dynamicConfig.flatMap((value) => ['--dynamic-config-value', value])],
    },
  });
  return {
    address: `127.0.0.1:${port}`,
    stop: () => env.teardown(),
  };
}
