import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CompozyError, errorMessage } from '../errors.js';
import { freePort } from '../platform/ports.js';
import { resolveTemporalBinary } from '../temporal/binary.js';
import { checkDevServerDb, devServerDbPath } from '../temporal/dev-server.js';

export interface EmbeddedTemporalOptions {
  namespace: string;
  /** An explicit Temporal CLI (settings' temporal.bin); else the resolver's PATH → cache → install. */
  bin?: string | undefined;
  /** Persist the history in `<stateDir>/temporal-<cli version>.db` (the file `compozy dev` uses); in memory when absent. */
  stateDir?: string | undefined;
  /** `--dynamic-config-value` entries, e.g. `limit.historyCount.error=500`. */
  dynamicConfig?: readonly string[];
}

export interface EmbeddedTemporal {
  address: string;
  /** e.g. "embedded dev server (CLI 1.5.1)", for health rows. */
  backend: string;
  stop(): Promise<void>;
}

/**
 * A Temporal dev server on a free port, run by @temporalio/testing on the resolved Temporal CLI (an
 * existing-path executable: nothing is downloaded by the SDK). The library spawns it, waits until it
 * serves, and stops it on teardown.
 */
export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions): Promise<EmbeddedTemporal> {
  const binary = await resolveTemporalBinary({ config: options.bin, install: true, onProgress: (event) => process.stderr.write(`${event.message}\n`) });
  const dbFilename = options.stateDir === undefined ? undefined : devServerDbPath(options.stateDir, binary.version);
  if (dbFilename) checkDevServerDb(dbFilename);
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
        ...(dbFilename ? { dbFilename } : {}),
        extraArgs: [
          '--headless',
          ...(dbFilename ? ['--sqlite-pragma', 'journal_mode=WAL'] : []),
          ...['frontend.enableUpdateWorkflowExecution=true', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true', ...(options.dynamicConfig ?? [])].flatMap((value) => ['--dynamic-config-value', value]),
        ],
      },
    });
  } catch (error) {
    throw new CompozyError('TEMPORAL_START_FAILED', `The embedded Temporal dev server (${binary.path}) did not start: ${errorMessage(error)}`, {
      hint: 'Run `compozy doctor`, or give a running Temporal with temporal.address.',
      cause: error,
    });
  }
  return { address: `127.0.0.1:${port}`, backend: `embedded dev server (CLI ${binary.version})`, stop: () => env.teardown() };
}
