import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TemporalServer } from '../api/embedded-temporal.js';
import { CompozyError, errorMessage } from '../errors.js';
import { freePort } from '../platform/ports.js';
import { resolveTemporalBinary } from '../temporal/binary.js';
import { IDLE_SYSTEM_WORKERS_OFF } from '../temporal/dev-server.js';

export interface TestServerOptions {
  namespace: string;
  /** An explicit Temporal CLI; else the resolver's PATH → cache → install. */
  bin?: string | undefined;
  /** `--dynamic-config-value` entries, e.g. `limit.historyCount.error=500`. */
  dynamicConfig?: readonly string[];
  /** Where the Temporal CLI's install progress goes (a library must not write into its host's stderr). */
  log: (line: string) => void;
}

/**
 * A Temporal dev server in memory on a free port, run by @temporalio/testing on the resolved Temporal
 * CLI as an existing-path executable (the SDK downloads nothing): it spawns it, waits until it serves
 * and stops it on teardown.
 */
export async function startTestServer(options: TestServerOptions): Promise<TemporalServer> {
  const binary = await resolveTemporalBinary({ config: options.bin, install: true, onProgress: (event) => options.log(event.message) });
  const port = await freePort();
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: binary.path },
        ip: '127.0.0.1',
        port,
        namespace: options.namespace,
        log: { format: 'pretty', level: 'error' },
        extraArgs: ['--headless', ...[...IDLE_SYSTEM_WORKERS_OFF, ...(options.dynamicConfig ?? [])].flatMap((value) => ['--dynamic-config-value', value])],
      },
    });
  } catch (error) {
    throw new CompozyError('TEMPORAL_START_FAILED', `The Temporal test server (${binary.path}) did not start: ${errorMessage(error)}`, { hint: 'Run `compozy doctor`.', cause: error });
  }
  return { address: `127.0.0.1:${port}`, backend: `test server (CLI ${binary.version})`, stop: () => env.teardown() };
}
