import { Connection } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** One readiness probe: gRPC connect (GetSystemInfo) and the namespace exists. */
export async function probeTemporal(address: string, namespace: string, timeoutMs = 2000): Promise<ProbeResult> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.describeNamespace({ namespace });
    return { ok: true, detail: `namespace ${namespace}` };
  } catch (error) {
    return { ok: false, detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Stops waiting early, e.g. when the server process has already exited. */
  abort?: AbortSignal;
}

export async function waitForTemporal(address: string, namespace: string, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ProbeResult = { ok: false, detail: 'not probed' };
  while (Date.now() < deadline) {
    if (options.abort?.aborted) throw options.abort.reason;
    last = await probeTemporal(address, namespace, Math.min(2000, Math.max(100, deadline - Date.now())));
    if (last.ok) return;
    await sleep(options.intervalMs ?? 100);
  }
  throw new CompozyError('TEMPORAL_UNREACHABLE', `Temporal at ${address} did not become ready within ${Math.round(options.timeoutMs / 1000)} s (${last.detail}).`, {
    hint: 'Check the Temporal log, or run `compozy doctor`.',
  });
}
