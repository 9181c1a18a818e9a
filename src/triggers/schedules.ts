import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcDeadlineError, ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleHandle, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import { temporalCron, type OverlapPolicy, type WorkflowSchedule } from '../config/schedule.js';
import type { ProjectConfig, WorkflowConfig } from '../config/types.js';
import { SCHEDULED_RUN_TYPE } from '../engine/workflows/messages.js';
import type { ScheduledRunRequest } from '../engine/protocol.js';
import { CompozyError, errorMessage } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import type { Kv, Lock } from '../kv/kv.js';
import { plural } from '../platform/plural.js';

/** Temporal's overlap policy for each of the reference's (engine/workflow/config.go OverlapPolicy). */
const OVERLAP: Record<OverlapPolicy, 'SKIP' | 'ALLOW_ALL' | 'BUFFER_ONE' | 'CANCEL_OTHER'> = { skip: 'SKIP', allow: 'ALLOW_ALL', buffer_one: 'BUFFER_ONE', cancel_other: 'CANCEL_OTHER' };

/** The owner's lease on reconciling a project's schedules; refreshed every third of it, and a standby tries to take it as often. */
const LEASE_MS = 15_000;
const RETRY_FIRST_MS = 250;
/** While Temporal does not answer yet (a dev server still starting), the next try comes this soon: readiness waits on it. */
const UNREACHABLE_RETRY_MS = 100;
/** The reference's schedule retry backoff ceiling (engine/workflow/schedule, 30 s). */
const RETRY_MAX_MS = 30_000;
/**
 * How long the health row waits for Temporal to describe the schedules. A describe is a query on the
 * schedule's scheduler workflow, answered by the server's own worker: right after a restart or an
 * update it can wait for that worker for tens of seconds, and health (and the dev table) must not.
 */
export const HEALTH_DESCRIBE_MS = 2000;

/** gRPC UNAVAILABLE (code 14), on the error or its cause: Temporal is not reachable (yet), as opposed to refusing a schedule. */
function unreachable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    if ((current as { code?: unknown }).code === 14) return true;
  }
  return false;
}

/**
 * What the schedule remembers about itself in its action's memo: the fingerprint of the YAML it was
 * made from (reconciliation updates it only when that changes), the cron as written, and the API's
 * override (PATCH) while one stands.
 */
interface Marker {
  fingerprint: string;
  cron: string;
  override?: { cron?: string; enabled?: boolean; modified_at: string };
}

/** The API's view of one schedule (reference engine/workflow/schedule/router/models.go ScheduleInfoResponse). */
export interface ScheduleInfo {
  workflow_id: string;
  schedule_id: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  is_override: boolean;
  /** The schedule as the YAML declares it, when an override stands (the reference's yaml_config). */
  yaml_config?: ScheduleYaml;
  next_run_time?: string;
  last_run_time?: string;
}

/** A schedule as written in the workflow, in the YAML's own field names. */
export interface ScheduleYaml {
  cron: string;
  timezone: string;
  enabled: boolean;
  jitter?: string;
  overlap_policy: OverlapPolicy;
  start_at?: string;
  end_at?: string;
  input: Record<string, unknown>;
}

export type ReconcileState = 'starting' | 'reconciling' | 'reconciled' | 'owned-elsewhere' | 'failed';

/** Where reconciliation stands, for health and /readyz. */
export interface ReconcileStatus {
  state: ReconcileState;
  /** Schedules the project declares. */
  declared: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  reconciled_at?: string;
  /** Why the last attempt failed; it is retried with backoff. */
  error?: string;
}

export interface SchedulesOptions {
  client: Client;
  kv: Kv;
  project: ProjectConfig;
  taskQueue: string;
  log: (line: string) => void;
}

function yamlOf(schedule: WorkflowSchedule): ScheduleYaml {
  return {
    cron: schedule.cron, timezone: schedule.timezone, enabled: schedule.enabled, overlap_policy: schedule.overlapPolicy, input: schedule.input,
    ...(schedule.jitter !== undefined ? { jitter: schedule.jitter } : {}),
    ...(schedule.startAt !== undefined ? { start_at: schedule.startAt } : {}), ...(schedule.endAt !== undefined ? { end_at: schedule.endAt } : {}),
  };
}

/** The spec fields a cron text gives (the rest of the spec kept as it is). */
function cronSpec(cron: string): Pick<ScheduleSpec, 'cronExpressions' | 'intervals' | 'calendars'> {
  const parsed = temporalCron(cron);
  if (!parsed.ok) throw new CompozyError('INPUT_INVALID', `cron ${parsed.message}`);
  return parsed.value.kind === 'cron' ? { cronExpressions: [parsed.value.expression], intervals: [], calendars: [] } : { intervals: [{ every: parsed.value.everyMs }], cronExpressions: [], calendars: [] };
}

function markerOf(description: ScheduleDescription): Marker | undefined {
  const marker = description.action.memo?.compozy as Marker | undefined;
  return marker && typeof marker.fingerprint === 'string' ? marker : undefined;
}

/**
 * A project's workflow schedules as Temporal Schedules (reference engine/workflow/schedule): id
 * `schedule-<project>-<workflow>`, memo {project_id, workflow_id}; each fire starts the scheduled-run
 * workflow (engine/workflows/scheduled.ts), which records and runs a normal execution. At start one
 * server per project — the holder of a lease on the KV — reconciles: creates the missing, updates the
 * ones whose YAML changed, deletes the project's schedules no workflow declares any more; the others
 * report the schedules owned elsewhere and take the lease over if its holder goes.
 */
export class Schedules {
  private status: ReconcileStatus;
  private lock: Lock | undefined;
  private stopRefresh: (() => void) | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly declared: Map<string, { workflow: WorkflowConfig; schedule: WorkflowSchedule }>;

  constructor(private readonly options: SchedulesOptions) {
    this.declared = new Map(options.project.workflows.flatMap((workflow) => (workflow.schedule ? [[workflow.id, { workflow, schedule: workflow.schedule }] as const] : [])));
    this.status = { state: 'starting', declared: this.declared.size, created: 0, updated: 0, deleted: 0, unchanged: 0 };
  }

  /** How many of the project's workflows declare a schedule. */
  get declaredCount(): number {
    return this.declared.size;
  }

  get prefix(): string {
    return `schedule-${this.options.project.name}-`;
  }

  scheduleId(workflowId: string): string {
    return `${this.prefix}${workflowId}`;
  }

  private get lockName(): string {
    return `compozy:schedules:owner:${this.options.project.name}`;
  }

  reconcileStatus(): ReconcileStatus {
    return { ...this.status };
  }

  /** Why /readyz is not ready yet: the first reconciliation has not succeeded (owned elsewhere counts as done). */
  notReadyReason(): string | undefined {
    // A project that declares no schedule serves nothing that waits on them: removing schedules a
    // previous version left behind is retried in the background and shows in the schedules row.
    if (this.declared.size === 0) return undefined;
    switch (this.status.state) {
      case 'reconciled':
      case 'owned-elsewhere':
        return undefined;
      case 'failed':
        return `schedules are not reconciled: ${this.status.error ?? 'unknown error'}`;
      default:
        return 'schedules are being reconciled';
    }
  }

  /** Takes the lease and reconciles (retrying with backoff), or stands by while another server holds it. */
  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      if (!this.stopping.signal.aborted) this.options.log(`schedules: ${errorMessage(error)}`);
    });
  }

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    let delay = RETRY_FIRST_MS;
    while (!signal.aborted) {
      try {
        if (!this.lock) {
          const lock = await this.options.kv.tryAcquire(this.lockName, LEASE_MS);
          if (!lock) {
            if (this.status.state !== 'owned-elsewhere') this.options.log('schedules: owned elsewhere (another server of this project reconciles them)');
            this.status = { ...this.status, state: 'owned-elsewhere' };
            await sleep(LEASE_MS / 3, undefined, { signal });
            continue;
          }
          this.lock = lock;
          this.stopRefresh = lock.autoRefresh({
            onLost: (error) => {
              this.options.log(`schedules: lost the reconciliation lease (${error.message}); standing by`);
              this.lock = undefined;
              this.stopRefresh = undefined;
              this.status = { ...this.status, state: 'owned-elsewhere' };
              this.loop = undefined;
              this.start();
            },
          });
        }
        if (this.status.state === 'reconciled') return;
        this.status = { ...this.status, state: 'reconciling' };
        const counts = await this.reconcile();
        this.status = { state: 'reconciled', declared: this.declared.size, ...counts, reconciled_at: new Date().toISOString() };
        this.options.log(`schedules: reconciled (${plural(this.declared.size, 'schedule')}: ${counts.created} created, ${counts.updated} updated, ${counts.deleted} deleted, ${counts.unchanged} unchanged)`);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const waiting = unreachable(error) && this.status.state !== 'failed';
        this.status = { ...this.status, state: waiting ? 'reconciling' : 'failed', error: errorMessage(error) };
        if (waiting) {
          await sleep(UNREACHABLE_RETRY_MS, undefined, { signal }).catch(() => undefined);
          continue;
        }
        this.options.log(`schedules: reconciliation failed, retrying in ${Math.round(delay / 100) / 10} s: ${errorMessage(error)}`);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  /** The Temporal Schedule a declared workflow schedule is. */
  private desired(workflowId: string, schedule: WorkflowSchedule): ScheduleOptions {
    const yaml = yamlOf(schedule);
    const fingerprint = createHash('sha256').update(JSON.stringify({ ...yaml, task_queue: this.options.taskQueue })).digest('hex').slice(0, 16);
    const marker: Marker = { fingerprint, cron: schedule.cron };
    const args: [ScheduledRunRequest] = [{ workflowId, input: schedule.input }];
    return {
      scheduleId: this.scheduleId(workflowId),
      spec: {
        ...cronSpec(schedule.cron),
        timezone: schedule.timezone,
        ...(schedule.jitterMs !== undefined ? { jitter: schedule.jitterMs } : {}),
        ...(schedule.startAt !== undefined ? { startAt: new Date(schedule.startAt) } : {}),
        ...(schedule.endAt !== undefined ? { endAt: new Date(schedule.endAt) } : {}),
      },
      action: { type: 'startWorkflow', workflowType: SCHEDULED_RUN_TYPE, workflowId: this.scheduleId(workflowId), taskQueue: this.options.taskQueue, args, memo: { compozy: marker } },
      policies: { overlap: OVERLAP[schedule.overlapPolicy] },
      state: { paused: !schedule.enabled },
      memo: { project_id: this.options.project.name, workflow_id: workflowId },
    };
  }

  /** This project's schedules in Temporal by workflow id: a prefix match and the memo's project_id (another project's name may start with this one's). */
  private async existing(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const summary of this.options.client.schedule.list()) {
      if (!summary.scheduleId.startsWith(this.prefix)) continue;
      const memo = summary.memo ?? {};
      if (memo.project_id !== this.options.project.name || typeof memo.workflow_id !== 'string') continue;
      found.set(memo.workflow_id, summary.scheduleId);
    }
    return found;
  }

  private async reconcile(): Promise<Pick<ReconcileStatus, 'created' | 'updated' | 'deleted' | 'unchanged'>> {
    const counts = { created: 0, updated: 0, deleted: 0, unchanged: 0 };
    // The list is eventually consistent: a schedule it misses is found by its create failing.
    const existing = await this.existing();
    for (const [workflowId, { schedule }] of this.declared) {
      const options = this.desired(workflowId, schedule);
      const outcome = await this.apply(options, existing.has(workflowId));
      counts[outcome]++;
    }
    for (const [workflowId, scheduleId] of existing) {
      if (this.declared.has(workflowId)) continue;
      await this.handle(scheduleId).delete().catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
      this.options.log(`schedules: deleted ${scheduleId} (workflow ${workflowId} declares no schedule any more)`);
      counts.deleted++;
    }
    return counts;
  }

  private async apply(options: ScheduleOptions, listed: boolean): Promise<'created' | 'updated' | 'unchanged'> {
    if (!listed) {
      try {
        await this.options.client.schedule.create(options);
        this.options.log(`schedules: created ${options.scheduleId}`);
        return 'created';
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      }
    }
    const handle = this.handle(options.scheduleId);
    const wanted = (options.action.memo?.compozy as Marker).fingerprint;
    const current = await handle.describe();
    if (markerOf(current)?.fingerprint === wanted) return 'unchanged';
    await handle.update(() => ({ spec: options.spec, action: options.action, policies: options.policies ?? {}, state: { paused: options.state?.paused ?? false } }));
    this.options.log(`schedules: updated ${options.scheduleId} (its YAML changed)`);
    return 'updated';
  }

  private handle(scheduleId: string): ScheduleHandle {
    return this.options.client.schedule.getHandle(scheduleId);
  }

  /** The declared workflow a route names, or SCHEDULE_NOT_FOUND. */
  private declaredOf(workflowId: string): { workflow: WorkflowConfig; schedule: WorkflowSchedule } {
    const found = this.declared.get(workflowId);
    if (!found) {
      throw new CompozyError('SCHEDULE_NOT_FOUND', `Workflow "${workflowId}" has no schedule in project ${this.options.project.name}.`, {
        hint: `Scheduled workflows: ${[...this.declared.keys()].join(', ') || 'none'}.`,
      });
    }
    return found;
  }

  private async describe(workflowId: string): Promise<ScheduleDescription> {
    this.declaredOf(workflowId);
    try {
      return await this.handle(this.scheduleId(workflowId)).describe();
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) {
        throw new CompozyError('SCHEDULE_NOT_FOUND', `The schedule of workflow "${workflowId}" is not in Temporal (${this.scheduleId(workflowId)}).`, {
          hint: 'It was deleted (DELETE /api/v0/schedules/:workflow_id) or is not reconciled yet; the next start of the server recreates it.',
        });
      }
      throw error;
    }
  }

  private info(workflowId: string, description: ScheduleDescription): ScheduleInfo {
    const marker = markerOf(description);
    const { schedule } = this.declaredOf(workflowId);
    const next = description.info.nextActionTimes[0];
    const last = description.info.recentActions.at(-1);
    return {
      workflow_id: workflowId,
      schedule_id: description.scheduleId,
      cron: marker?.override?.cron ?? marker?.cron ?? schedule.cron,
      timezone: description.spec.timezone ?? 'UTC',
      enabled: !description.state.paused,
      is_override: marker?.override !== undefined,
      ...(marker?.override ? { yaml_config: yamlOf(schedule) } : {}),
      // A paused schedule still reports the times it would fire at; it fires at none of them.
      ...(next && !description.state.paused ? { next_run_time: next.toISOString() } : {}),
      ...(last ? { last_run_time: last.scheduledAt.toISOString() } : {}),
    };
  }

  /** Every declared schedule Temporal has (one deleted through the API is left out until it is recreated). */
  async list(): Promise<ScheduleInfo[]> {
    const infos: ScheduleInfo[] = [];
    for (const workflowId of this.declared.keys()) {
      try {
        infos.push(this.info(workflowId, await this.describe(workflowId)));
      } catch (error) {
        if (!(error instanceof CompozyError && error.code === 'SCHEDULE_NOT_FOUND')) throw error;
      }
    }
    return infos;
  }

  async get(workflowId: string): Promise<ScheduleInfo> {
    return this.info(workflowId, await this.describe(workflowId));
  }

  /**
   * An override of enabled and/or cron (reference router/schedules.go updateSchedule): applied to the
   * Temporal Schedule and marked on it, so it stands until the workflow's YAML changes.
   */
  async update(workflowId: string, patch: { enabled?: boolean; cron?: string }): Promise<ScheduleInfo> {
    if (patch.enabled === undefined && patch.cron === undefined) throw new CompozyError('INPUT_INVALID', "At least one of 'enabled' or 'cron' is required.");
    const spec = patch.cron === undefined ? undefined : cronSpec(patch.cron);
    const current = await this.describe(workflowId);
    const marker = markerOf(current) ?? { fingerprint: '', cron: this.declaredOf(workflowId).schedule.cron };
    const override = { ...marker.override, ...(patch.cron !== undefined ? { cron: patch.cron.trim() } : {}), ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}), modified_at: new Date().toISOString() };
    await this.handle(current.scheduleId).update((previous) => ({
      spec: { ...previous.spec, ...(spec ?? {}) } as ScheduleSpec,
      action: { ...previous.action, memo: { ...previous.action.memo, compozy: { ...marker, override } } },
      policies: previous.policies,
      state: { paused: patch.enabled === undefined ? previous.state.paused : !patch.enabled, ...(previous.state.note !== undefined ? { note: previous.state.note } : {}) },
    }));
    this.options.log(`schedules: ${current.scheduleId} changed through the API (${[patch.enabled === undefined ? '' : patch.enabled ? 'enabled' : 'paused', patch.cron === undefined ? '' : `cron ${patch.cron}`].filter(Boolean).join(', ')}); it stands until the YAML changes`);
    return this.get(workflowId);
  }

  /** Deletes the Temporal Schedule; the next start of a server recreates it while the YAML declares it. */
  async remove(workflowId: string): Promise<void> {
    const { scheduleId } = await this.describe(workflowId);
    await this.handle(scheduleId).delete();
    this.options.log(`schedules: ${scheduleId} deleted through the API`);
  }

  /** Fires the schedule now (its overlap policy applies), as if its time had come. */
  async trigger(workflowId: string): Promise<ScheduleInfo> {
    const { scheduleId } = await this.describe(workflowId);
    await this.handle(scheduleId).trigger();
    return this.get(workflowId);
  }

  /** The `schedules` health row: reconciliation state and the next fire time. */
  async health(): Promise<ComponentHealth | undefined> {
    if (this.declared.size === 0) return undefined;
    const row = { name: 'schedules', backend: 'temporal schedules' };
    const { state, error } = this.status;
    if (state === 'starting' || state === 'reconciling') return { ...row, state: 'starting', detail: `reconciling ${plural(this.declared.size, 'schedule')}` };
    if (state === 'failed') return { ...row, state: 'degraded', detail: `not reconciled (retrying): ${error ?? 'unknown error'}` };
    const owner = state === 'owned-elsewhere' ? '; owned elsewhere (another server reconciles them)' : '';
    try {
      const infos = await this.options.client.withDeadline(Date.now() + HEALTH_DESCRIBE_MS, () => this.list());
      const next = infos.filter((info) => info.enabled && info.next_run_time).sort((a, b) => (a.next_run_time as string).localeCompare(b.next_run_time as string))[0];
      const paused = infos.filter((info) => !info.enabled).length;
      const nextText = next ? `next ${next.workflow_id} at ${next.next_run_time}` : 'no fire time ahead';
      return { ...row, state: 'up', detail: `${plural(infos.length, 'schedule')}${paused ? ` (${paused} paused)` : ''}; ${nextText}${owner}` };
    } catch (failure) {
      if (isGrpcDeadlineError(failure)) return { ...row, state: 'degraded', detail: `Temporal did not describe the schedules within ${HEALTH_DESCRIBE_MS / 1000} s (its scheduler worker is busy or starting)${owner}` };
      return { ...row, state: 'degraded', detail: `cannot describe the schedules: ${errorMessage(failure)}${owner}` };
    }
  }

  /** Stops the retries and gives the lease up, so another server can take over at once. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    this.stopRefresh?.();
    const lock = this.lock;
    this.lock = undefined;
    // A lease that already expired or was taken over has nothing left to give up.
    if (lock) await lock.release().catch(() => undefined);
  }
}
