import type { Connection } from '@temporalio/client';
import { httpRequest } from '../platform/http-request.js';
import { tcpReachable } from '../platform/ports.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/**
 * One readiness probe: the port accepts connections, then gRPC connects (GetSystemInfo) and the
 * namespace exists. The TCP check comes first because a gRPC channel that meets a closed port backs
 * off for about a second before retrying, which would make every start-up look a second slower.
 */
export async function probeTemporal(address: string, namespace: string, timeoutMs = 2000): Promise<ProbeResult> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[|\]$/g, '') || '127.0.0.1';
  if (!(await tcpReachable(host, Number(address.slice(separator + 1)), timeoutMs))) return { ok: false, detail: `nothing listening on ${address}` };
  let connection: Connection | undefined;
  try {
    // Loaded on first use: the client costs ~0.2 s to import, which `compozy dev` should not pay before spawning Temporal.
    const { Connection } = await import('@temporalio/client');
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.workflowService.describeNamespace({ namespace });
    return { ok: true, detail: `namespace ${namespace}` };
  } catch (error) {
    return { ok: false, detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * The same probe over the server's HTTP API (GET /api/v1/namespaces/<namespace>): a process that has
 * no other use for a gRPC client (compozy dev's supervisor) does not load one, ~0.3 s of CPU beside
 * the children it starts.
 */
export async function probeTemporalHttp(httpAddress: string, namespace: string, timeoutMs = 2000): Promise<ProbeResult> {
  try {
    const answer = await httpRequest(`http://${httpAddress}/api/v1/namespaces/${encodeURIComponent(namespace)}`, { timeoutMs });
    return answer.ok ? { ok: true, detail: `namespace ${namespace}` } : { ok: false, detail: `the HTTP API answered ${answer.status}` };
  } catch (error) {
    if ((error as { code?: string }).code === 'ECONNREFUSED') return { ok: false, detail: `nothing listening on ${httpAddress} (its HTTP API)` };
    return { ok: false, detail: errorMessage(error).split('\n')[0] ?? 'unreachable' };
  }
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Stops waiting early, e.g. when the server process has already exited. */
  abort?: AbortSignal;
  /** Probe the server's HTTP API at this host:port instead of gRPC (see probeTemporalHttp). */
  httpAddress?: string;
}

export async function waitForTemporal(address: string, namespace: string, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ProbeResult = { ok: false, detail: 'not probed' };
  while (Date.now() < deadline) {
    if (options.abort?.aborted) throw options.abort.reason;
    const timeoutMs = Math.min(2000, Math.max(100, deadline - Date.now()));
    last = options.httpAddress ? await probeTemporalHttp(options.httpAddress, namespace, timeoutMs) : await probeTemporal(address, namespace, timeoutMs);
    if (last.ok) return;
    await sleep(options.intervalMs ?? 25);
  }
  throw new CompozyError('TEMPORAL_UNREACHABLE', `Temporal at ${address} did not become ready within ${Math.round(options.timeoutMs / 1000)} s (${last.detail}).`, {
    hint: 'Check the Temporal log, or run `compozy doctor`.',
  });
}
