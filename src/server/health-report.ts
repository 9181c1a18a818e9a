import type { State as WorkerState } from '@temporalio/worker';
import type { Mode } from '../config/settings.js';
import { overallState, type ComponentHealth, type ComponentState, type HealthReport } from '../health.js';
import type { ChildRecord } from '../platform/run-state.js';

/** What the supervisor's run.json says about a process it runs: its pid, restarts and last exit. */
export type SupervisedChild = Pick<ChildRecord, 'pid' | 'restarts' | 'lastExitCode'>;

/** The worker as this process sees it: its own (in-process) or whichever `compozy worker` polls the task queue. */
export type WorkerProbe =
  | { kind: 'in-process'; pid: number; taskQueue: string; state: WorkerState | undefined; failure: string | undefined }
  | { kind: 'external'; taskQueue: string; polled: boolean };

/** Everything the health report is made of, already probed: assembling it does no I/O. */
export interface HealthProbes {
  mode: Mode;
  project: string;
  /** `namespace` is the namespace check, undefined while the in-process worker is still connecting (nothing to ask over yet). */
  temporal: { backend: string; address: string; namespace: { ok: boolean; detail: string } | undefined; child?: SupervisedChild | undefined };
  /** `reloads`: the project reloads of watch mode, noted in the api row. */
  api: { url: string; pid: number; child?: SupervisedChild | undefined; reloads?: { count: number; at: Date } | undefined };
  worker: WorkerProbe;
  /** The runtime's rows (kv, store, llm, tools…), in their order. */
  backends: readonly ComponentHealth[];
}

/** The Temporal SDK's worker state as a health state; a worker that has not started yet is starting. */
export function workerState(state: WorkerState | undefined, failure: string | undefined): ComponentState {
  if (failure) return 'down';
  switch (state) {
    case undefined:
    case 'INITIALIZED':
      return 'starting';
    case 'RUNNING':
      return 'up';
    case 'STOPPING':
    case 'DRAINING':
    case 'DRAINED':
      return 'degraded';
    default:
      return 'down';
  }
}

function restarts(child: SupervisedChild | undefined): Pick<ComponentHealth, 'restarts' | 'lastExitCode'> {
  if (!child) return {};
  return { restarts: child.restarts, ...(child.lastExitCode !== undefined ? { lastExitCode: child.lastExitCode } : {}) };
}

function workerRow(worker: WorkerProbe, serve: SupervisedChild | undefined): ComponentHealth {
  if (worker.kind === 'in-process') {
    const { pid, taskQueue, state, failure } = worker;
    return { name: 'worker', backend: 'in-process', state: workerState(state, failure), pid, ...restarts(serve), detail: failure ?? `task queue ${taskQueue}` };
  }
  const { polled, taskQueue } = worker;
  return { name: 'worker', backend: 'compozy worker', state: polled ? 'up' : 'down', detail: polled ? `task queue ${taskQueue} is polled` : `no worker polls task queue ${taskQueue}` };
}

/** The health report of a serve process: temporal, api, worker, then the runtime's backends; overall state from them all. */
export function healthReport(probes: HealthProbes): HealthReport {
  const { temporal, api, worker } = probes;
  const failed = worker.kind === 'in-process' && worker.failure !== undefined;
  const namespace = temporal.namespace ?? { ok: false, detail: failed ? 'not connected' : 'connecting' };
  const components: ComponentHealth[] = [
    {
      name: 'temporal',
      backend: temporal.backend,
      state: namespace.ok ? 'up' : temporal.namespace || failed ? 'down' : 'starting',
      address: temporal.address,
      ...(temporal.child?.pid ? { pid: temporal.child.pid } : {}),
      ...restarts(temporal.child),
      detail: namespace.detail,
    },
    { name: 'api', backend: 'fastify', state: 'up', address: api.url, pid: api.pid, ...restarts(api.child), ...(api.reloads ? { detail: `project reloaded ${api.reloads.count}× (last ${api.reloads.at.toISOString().slice(11, 19)} UTC)` } : {}) },
    workerRow(worker, api.child),
    ...probes.backends,
  ];
  return { mode: probes.mode, project: probes.project, status: overallState(components), components };
}
