import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import type { ProjectConfig } from '../../src/config/types.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { HEALTH_DESCRIBE_MS, Schedules } from '../../src/triggers/schedules.js';
import { writeFiles } from '../helpers/files.js';

/** A Temporal schedule client in memory: what was created, updated and deleted, and what list() shows. */
class FakeSchedules {
  readonly stored = new Map<string, ScheduleOptions & { paused: boolean }>();
  readonly calls: string[] = [];
  /** Ids list() leaves out, as Temporal's eventually consistent list does right after a create. */
  readonly unlisted = new Set<string>();
  /** Ids whose describe never answers, as a scheduler workflow whose worker is not polling. */
  readonly stalled = new Set<string>();

  client(): Client {
    const self = this;
    return {
      /** The connection's deadline: the call fails with gRPC's DEADLINE_EXCEEDED once it passes. */
      async withDeadline<R>(deadline: number, fn: () => Promise<R>): Promise<R> {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4, details: 'Deadline exceeded', metadata: {} })), deadline - Date.now());
        });
        try {
          return await Promise.race([fn(), expired]);
        } finally {
          clearTimeout(timer);
        }
      },
      schedule: {
        async *list() {
          for (const [scheduleId, options] of self.stored) if (!self.unlisted.has(scheduleId)) yield { scheduleId, memo: options.memo };
        },
        async create(options: ScheduleOptions) {
          self.calls.push(`create ${options.scheduleId}`);
          if (self.stored.has(options.scheduleId)) throw new ScheduleAlreadyRunning('exists', options.scheduleId);
          self.stored.set(options.scheduleId, { ...options, paused: options.state?.paused ?? false });
        },
        getHandle(id: string) {
          const get = () => {
            const found = self.stored.get(id);
            if (!found) throw new ScheduleNotFoundError('gone', id);
            return found;
          };
          const description = () => {
            const found = get();
            return { scheduleId: id, spec: found.spec, action: found.action, policies: found.policies, state: { paused: found.paused }, memo: found.memo, info: { nextActionTimes: [new Date('2030-01-01T00:00:00Z')], recentActions: [] } };
          };
          return {
            describe: async () => (self.stalled.has(id) ? new Promise<never>(() => undefined) : description()),
            async update(fn: (previous: ReturnType<typeof description>) => Omit<ScheduleOptions, 'scheduleId'>) {
              self.calls.push(`update ${id}`);
              const next = fn(description());
              self.stored.set(id, { ...get(), ...next, paused: next.state?.paused ?? false });
            },
            async delete() {
              self.calls.push(`delete ${id}`);
              get();
              self.stored.delete(id);
            },
            async trigger() {
              self.calls.push(`trigger ${id}`);
            },
          };
        },
      },
    } as unknown as Client;
  }
}

const kv = SqliteKv.open(':memory:');
afterAll(() => kv.close());

function project(name: string, workflows: Record<string, string>): ProjectConfig {
  const sources = Object.keys(workflows).map((id) => `  - source: ./${id}.yaml\n`).join('');
  const files = Object.fromEntries(Object.entries(workflows).map(([id, schedule]) => [`${id}.yaml`, `id: ${id}\n${schedule}tasks:\n  - id: a\n    type: aggregate\n    outputs: { ok: true }\n`]));
  const { project: loaded, diagnostics } = loadProjectConfig(writeFiles({ 'compozy.yaml': `name: ${name}\nworkflows:\n${sources}`, ...files }));
  expect(diagnostics).toEqual([]);
  return loaded!;
}

async function reconciled(schedules: Schedules): Promise<void> {
  schedules.start();
  for (let i = 0; i < 200 && !['reconciled', 'owned-elsewhere', 'failed'].includes(schedules.reconcileStatus().state); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('schedule reconciliation', () => {
  it('creates each declared schedule with every YAML field mapped onto the Temporal Schedule', async () => {
    const fake = new FakeSchedules();
    const schedules = new Schedules({
      client: fake.client(), kv, taskQueue: 'q1', log: () => undefined,
      project: project('p1', {
        cron: 'schedule:\n  cron: "*/5 * * * *"\n  timezone: Europe/Paris\n  enabled: false\n  jitter: 30s\n  overlap_policy: cancel_other\n  start_at: "2030-01-01T00:00:00Z"\n  end_at: "2031-01-01T00:00:00Z"\n  input: { a: 1 }\n',
        every: 'schedule:\n  cron: "@every 1h30m"\n  overlap_policy: allow\n',
      }),
    });
    await reconciled(schedules);
    expect(schedules.reconcileStatus()).toMatchObject({ state: 'reconciled', declared: 2, created: 2, updated: 0, deleted: 0, unchanged: 0 });
    const cron = fake.stored.get('schedule-p1-cron')!;
    expect(cron).toMatchObject({
      spec: { cronExpressions: ['0 */5 * * * * *'], timezone: 'Europe/Paris', jitter: 30_000, startAt: new Date('2030-01-01T00:00:00Z'), endAt: new Date('2031-01-01T00:00:00Z') },
      action: { type: 'startWorkflow', workflowType: 'compozyScheduledRun', workflowId: 'schedule-p1-cron', taskQueue: 'q1', args: [{ workflowId: 'cron', input: { a: 1 } }] },
      policies: { overlap: 'CANCEL_OTHER' },
      paused: true,
      memo: { project_id: 'p1', workflow_id: 'cron' },
    });
    expect(fake.stored.get('schedule-p1-every')).toMatchObject({ spec: { intervals: [{ every: 5_400_000 }], timezone: 'UTC' }, policies: { overlap: 'ALLOW_ALL' }, paused: false });
    await schedules.close();
  });

  it('leaves an unchanged schedule alone, updates a changed one, deletes its own orphans and never another project\'s', async () => {
    const fake = new FakeSchedules();
    const first = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: project('p2', { a: 'schedule:\n  cron: "@daily"\n', b: 'schedule:\n  cron: "@hourly"\n', gone: 'schedule:\n  cron: "@hourly"\n' }) });
    await reconciled(first);
    await first.close();
    // Another project whose name starts with this one's: same prefix, other memo.
    fake.stored.set('schedule-p2-x-a', { scheduleId: 'schedule-p2-x-a', memo: { project_id: 'p2-x', workflow_id: 'a' } } as never);
    fake.calls.length = 0;
    const second = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: project('p2', { a: 'schedule:\n  cron: "@daily"\n', b: 'schedule:\n  cron: "@weekly"\n' }) });
    await reconciled(second);
    expect(second.reconcileStatus()).toMatchObject({ state: 'reconciled', created: 0, updated: 1, deleted: 1, unchanged: 1 });
    expect(fake.calls.sort()).toEqual(['delete schedule-p2-gone', 'update schedule-p2-b']);
    expect(fake.stored.get('schedule-p2-b')?.spec).toMatchObject({ cronExpressions: ['0 0 0 * * 0 *'] });
    expect(fake.stored.has('schedule-p2-x-a')).toBe(true);
    await second.close();
  });

  it('a schedule the list misses (eventual consistency) is found by its create and compared, not duplicated', async () => {
    const fake = new FakeSchedules();
    const config = project('p3', { a: 'schedule:\n  cron: "@daily"\n' });
    const first = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(first);
    await first.close();
    fake.unlisted.add('schedule-p3-a');
    fake.calls.length = 0;
    const second = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(second);
    expect(second.reconcileStatus()).toMatchObject({ state: 'reconciled', created: 0, unchanged: 1 });
    expect(fake.calls).toEqual(['create schedule-p3-a']);
    expect(fake.stored.size).toBe(1);
    await second.close();
  });

  it('readiness waits for a reconciliation only when the project declares a schedule', async () => {
    const fake = new FakeSchedules();
    const scheduled = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: project('p6', { a: 'schedule:\n  cron: "@daily"\n' }) });
    const unscheduled = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: project('p7', { a: '' }) });
    expect(scheduled.notReadyReason()).toBe('schedules are being reconciled');
    expect(unscheduled.reconcileStatus().state).toBe('starting');
    expect(unscheduled.notReadyReason()).toBeUndefined();
    await scheduled.close();
    await unscheduled.close();
  });

  it('while one holds the lease the other reports owned elsewhere, and takes over when it is given up', async () => {
    const fake = new FakeSchedules();
    const config = project('p4', { a: 'schedule:\n  cron: "@daily"\n' });
    const owner = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(owner);
    const standby = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(standby);
    expect(standby.reconcileStatus().state).toBe('owned-elsewhere');
    expect(standby.notReadyReason()).toBeUndefined();
    expect((await standby.health())?.detail).toMatch(/owned elsewhere/);
    await owner.close();
    for (let i = 0; i < 1000 && standby.reconcileStatus().state !== 'reconciled'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(standby.reconcileStatus()).toMatchObject({ state: 'reconciled', unchanged: 1 });
    await standby.close();
  });

  it('a describe Temporal does not answer leaves the health row degraded, saying so, within its deadline', async () => {
    const fake = new FakeSchedules();
    const config = project('p9', { a: 'schedule:\n  cron: "@daily"\n', b: 'schedule:\n  cron: "@hourly"\n' });
    const schedules = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(schedules);
    expect(await schedules.health()).toMatchObject({ state: 'up', detail: expect.stringMatching(/^2 schedules; next/) });
    fake.stalled.add('schedule-p9-b');
    expect(await schedules.health()).toMatchObject({ state: 'degraded', detail: `Temporal did not describe the schedules within ${HEALTH_DESCRIBE_MS / 1000} s (its scheduler worker is busy or starting)` });
    fake.stalled.clear();
    expect((await schedules.health())?.state).toBe('up');
    await schedules.close();
  });

  it('PATCH marks an override that survives a restart with the same YAML; a YAML change replaces it', async () => {
    const fake = new FakeSchedules();
    const config = project('p5', { a: 'schedule:\n  cron: "@daily"\n' });
    const first = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(first);
    expect(await first.update('a', { enabled: false, cron: '@every 10s' })).toMatchObject({ cron: '@every 10s', enabled: false, is_override: true, yaml_config: { cron: '@daily', enabled: true } });
    expect(fake.stored.get('schedule-p5-a')?.spec).toMatchObject({ intervals: [{ every: 10_000 }], cronExpressions: [] });
    await expect(first.update('a', {})).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(first.update('a', { cron: '@dialy' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(first.get('nope')).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
    await first.close();
    const same = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: config });
    await reconciled(same);
    expect(await same.get('a')).toMatchObject({ is_override: true, enabled: false });
    await same.close();
    const edited = new Schedules({ client: fake.client(), kv, taskQueue: 'q', log: () => undefined, project: project('p5', { a: 'schedule:\n  cron: "@hourly"\n' }) });
    await reconciled(edited);
    expect(await edited.get('a')).toMatchObject({ cron: '@hourly', enabled: true, is_override: false, next_run_time: '2030-01-01T00:00:00.000Z' });
    await edited.remove('a');
    await expect(edited.get('a')).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
    expect(await edited.list()).toEqual([]);
    await edited.close();
  });
});
