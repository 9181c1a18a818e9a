import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, type ScheduleSummary } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess, DevProcess, runCli, stopDevProcesses } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { DATABASE_URL, REDIS_URL, withServices } from '../helpers/services.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

/**
 * Workflow schedules as Temporal Schedules under real processes: fires that are normal executions,
 * pause, a cron change reconciled at the next start and a removal at a watch-mode reload, and one owner
 * for two servers.
 */

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1' };
const started: DevProcess[] = [];
const procs: CliProcess[] = [];

afterEach(async () => {
  await stopDevProcesses(started);
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

const TICK = (schedule: string, id = 'tick') => `id: ${id}
config:
  input: { type: object, properties: { n: { type: number } }, required: [n] }
${schedule}tasks:
  - id: done
    type: aggregate
    outputs: { n: "{{ .workflow.input.n }}" }
outputs: { n: "{{ .tasks.done.output.n }}" }
`;
const HOLD = `id: hold
schedule:
  cron: "@every 1h"
tasks:
  - id: wait
    type: wait
    wait_for: go
    condition: "true"
`;

type Execution = { workflow_exec_id: string; workflow_id: string; status: string; input: unknown; output: unknown };

async function data<T>(url: string, init?: RequestInit): Promise<{ status: number; data: T }> {
  const response = await fetch(url, init);
  const body = (await response.json()) as { data: T };
  return { status: response.status, data: body.data };
}

async function executions(api: string, workflowId: string): Promise<Execution[]> {
  const { data: page } = await data<{ executions: Execution[] }>(`${api}/api/v0/executions/workflows?limit=100`);
  return page.executions.filter((e) => e.workflow_id === workflowId);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await probe();
    if (last !== undefined) return last;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The project's schedules as Temporal lists them (eventually consistent, so callers poll). */
async function temporalSchedules(address: string, prefix: string): Promise<ScheduleSummary[]> {
  const connection = await Connection.connect({ address });
  try {
    const found: ScheduleSummary[] = [];
    for await (const summary of new Client({ connection }).schedule.list()) if (summary.scheduleId.startsWith(prefix)) found.push(summary);
    return found;
  } finally {
    await connection.close();
  }
}

function schedulesRow(health: HealthReport) {
  return health.components.find((c) => c.name === 'schedules');
}

describe('schedules under compozy dev', () => {
  it('an @every 2s schedule fires normal executions; pause stops it, trigger fires it, a scheduled run is cancellable; a cron change is reconciled at the next start, a removal at a watch-mode reload', async () => {
    const project = writeFiles({ 'compozy.yaml': 'name: sched-e2e\nworkflows:\n  - source: ./tick.yaml\n  - source: ./hold.yaml\n', 'tick.yaml': TICK('schedule:\n  cron: "@every 2s"\n  input: { n: 7 }\n'), 'hold.yaml': HOLD });
    let dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    const ready = await dev.waitFor('ready', 1, 90_000);
    const api = String(ready.apiUrl);
    expect(schedulesRow(ready.health as HealthReport)).toMatchObject({ name: 'schedules', backend: 'temporal schedules', state: 'up' });
    expect(schedulesRow(ready.health as HealthReport)?.detail).toMatch(/^2 schedules; next (tick|hold) at \d{4}-\d\d-\d\dT/);

    // Fires are executions like any other: listed, with the schedule's input, inspectable.
    const fired = await until('two scheduled executions of tick', async () => {
      const done = (await executions(api, 'tick')).filter((e) => e.status === 'SUCCESS');
      return done.length >= 2 ? done : undefined;
    });
    expect(fired[0]).toMatchObject({ workflow_id: 'tick', input: { n: 7 }, output: { n: 7 } });
    const one = await data<Execution>(`${api}/api/v0/executions/workflows/${fired[0]!.workflow_exec_id}`);
    expect(one).toMatchObject({ status: 200, data: { workflow_id: 'tick', status: 'SUCCESS' } });
    const listed = await data<{ schedules: Array<Record<string, unknown>>; total: number }>(`${api}/api/v0/schedules`);
    expect(listed.data.total).toBe(2);
    expect(listed.data.schedules.find((s) => s.workflow_id === 'tick')).toMatchObject({ schedule_id: 'schedule-sched-e2e-tick', cron: '@every 2s', timezone: 'UTC', enabled: true, is_override: false });

    // Paused, it starts nothing more: the count after every run in flight has ended stays the same over several intervals.
    const paused = await runCli(['schedules', 'pause', 'tick', project, '--json'], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ workflow_id: 'tick', enabled: false, is_override: true, yaml_config: { cron: '@every 2s', enabled: true } });
    const settled = await until('the runs in flight to end', async () => {
      const all = await executions(api, 'tick');
      return all.every((e) => ['SUCCESS', 'FAILED', 'CANCELED'].includes(e.status)) ? all.length : undefined;
    });
    await sleep(6000);
    expect((await executions(api, 'tick')).length).toBe(settled);
    const list = await runCli(['schedules', 'list', project], env);
    expect(list.stdout).toMatch(/tick\s+paused\s+@every 2s\s+UTC\s+-\s+API override/);

    // trigger fires a paused schedule once; the scheduled run of a wait task is canceled like any execution.
    const triggered = await runCli(['schedules', 'trigger', 'hold', project], env);
    expect(triggered.code, triggered.stderr).toBe(0);
    const holding = await until('the triggered run of hold to wait', async () => (await executions(api, 'hold')).find((e) => e.status === 'PAUSED' || e.status === 'WAITING'));
    const cancel = await fetch(`${api}/api/v0/executions/workflows/${holding.workflow_exec_id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBeLessThan(300);
    await until('the canceled run', async () => ((await data<Execution>(`${api}/api/v0/executions/workflows/${holding.workflow_exec_id}`)).data.status === 'CANCELED' ? true : undefined));

    // A cron change in the YAML updates the one schedule (no second one), and the YAML's enabled: true wins over the pause.
    await stopDevProcesses(started);
    writeFileSync(join(project, 'tick.yaml'), TICK('schedule:\n  cron: "0 0 9 * * 1-5"\n  timezone: Europe/Paris\n  input: { n: 8 }\n'));
    dev = new DevProcess([project, '--port', '0'], env);
    started.push(dev);
    const again = await dev.waitFor('ready', 1, 90_000);
    const api2 = String(again.apiUrl);
    const tick = await data<Record<string, unknown>>(`${api2}/api/v0/schedules/tick`);
    expect(tick.data).toMatchObject({ cron: '0 0 9 * * 1-5', timezone: 'Europe/Paris', enabled: true, is_override: false });
    expect(String(tick.data.next_run_time)).toMatch(/T0[78]:00:00\.000Z$/);
    // The same embedded Temporal database (.compozy/temporal-<version>.db), on the port this run chose.
    const address = String(again.temporalAddress);
    const ids = await until('Temporal to list both schedules', async () => {
      const found = (await temporalSchedules(address, 'schedule-sched-e2e-')).map((s) => s.scheduleId).sort();
      return found.length === 2 ? found : undefined;
    });
    expect(ids).toEqual(['schedule-sched-e2e-hold', 'schedule-sched-e2e-tick']);

    // Removed from the YAML while dev runs: watch mode reloads the project, and the new version deletes it from Temporal.
    writeFileSync(join(project, 'tick.yaml'), TICK(''));
    await until('GET /schedules/tick to answer 404', async () => ((await fetch(`${api2}/api/v0/schedules/tick`)).status === 404 ? true : undefined));
    await until('Temporal to list only hold', async () => {
      const found = (await temporalSchedules(address, 'schedule-sched-e2e-')).map((s) => s.scheduleId);
      return found.length === 1 && found[0] === 'schedule-sched-e2e-hold' ? true : undefined;
    });
    expect((await data<{ total: number }>(`${api2}/api/v0/schedules`)).data.total).toBe(1);
  }, 240_000);
});

let temporal: TestTemporal;

await withServices([['Redis', REDIS_URL, 6379], ['PostgreSQL', DATABASE_URL, 5432]], () =>
  describe('schedules in distributed mode', () => {
    beforeAll(async () => {
      temporal = await startTemporal(inject('temporalBin'));
    }, 60_000);
    afterAll(async () => {
      await temporal?.stop();
    });

    it('two servers of one project on Redis, PostgreSQL and one Temporal: one reconciles, the other reports the schedules owned elsewhere; one schedule fires, pauses, changes and goes', async () => {
      const name = `sched-dist-${process.pid}`;
      // PostgreSQL outlives the run: a workflow id of this run's own keeps other runs' executions out of the counts.
      const wf = `tick${process.pid}`;
      const project = writeFiles({ 'compozy.yaml': `name: ${name}\nworkflows:\n  - source: ./tick.yaml\n`, 'tick.yaml': TICK('schedule:\n  cron: "@every 2s"\n  input: { n: 3 }\n', wf) });
      const distributed = { TEMPORAL_ADDRESS: temporal.address, REDIS_URL, DATABASE_URL, TEMPORAL_TASK_QUEUE: name };
      const ports = [await freePort(), await freePort()];
      const apis = ports.map((port) => `http://127.0.0.1:${port}`);
      const listed = async () => (await temporalSchedules(temporal.address, `schedule-${name}-`)).map((s) => s.scheduleId);
      /** Both servers started and ready; which one owns the reconciliation. */
      const startBoth = async () => {
        const servers = ports.map((port) => new CliProcess(['start', project, '--port', String(port)], distributed));
        procs.push(...servers);
        await Promise.all(servers.map((s) => s.waitForOutput('schedules: ', 60_000)));
        await Promise.all(apis.map((api) => until(`${api} ready`, async () => ((await fetch(`${api}/readyz`).catch(() => undefined))?.ok ? true : undefined))));
        const states = await Promise.all(apis.map(async (api) => (await data<{ schedules: { state: string } }>(`${api}/api/v0/health`)).data.schedules.state));
        expect([...states].sort()).toEqual(['owned-elsewhere', 'reconciled']);
        return { servers, owner: states.indexOf('reconciled') };
      };
      const stopBoth = () => Promise.all(procs.splice(0).map((p) => p.stop()));

      const first = await startBoth();
      expect(first.servers.filter((s) => s.output.includes('schedules: created')).length).toBe(1);
      await until('two scheduled executions', async () => ((await executions(apis[0]!, wf)).filter((e) => e.status === 'SUCCESS').length >= 2 ? true : undefined));
      expect(await until('Temporal to list the schedule', async () => ((await listed()).length > 0 ? listed() : undefined))).toEqual([`schedule-${name}-${wf}`]);

      // Paused through the server that does not own the reconciliation: it steers the same Temporal Schedule.
      const standby = apis[1 - first.owner]!;
      const paused = await data<{ enabled: boolean }>(`${standby}/api/v0/schedules/${wf}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
      expect(paused).toMatchObject({ status: 200, data: { enabled: false, is_override: true } });
      const settled = await until('the runs in flight to end', async () => {
        const all = await executions(apis[0]!, wf);
        return all.every((e) => ['SUCCESS', 'FAILED', 'CANCELED'].includes(e.status)) ? all.length : undefined;
      });
      await sleep(6000);
      expect((await executions(apis[1]!, wf)).length).toBe(settled);

      // A cron change: both restart on the new YAML, one of them updates the one schedule.
      await stopBoth();
      writeFileSync(join(project, 'tick.yaml'), TICK('schedule:\n  cron: "@every 3s"\n  input: { n: 4 }\n', wf));
      const second = await startBoth();
      expect(second.servers.filter((s) => s.output.includes('schedules: updated')).length).toBe(1);
      expect(second.servers.some((s) => s.output.includes('schedules: created'))).toBe(false);
      expect((await data(`${apis[1 - second.owner]!}/api/v0/schedules/${wf}`)).data).toMatchObject({ cron: '@every 3s', enabled: true, is_override: false });
      expect(await listed()).toEqual([`schedule-${name}-${wf}`]);

      // Removed from the YAML: one of them deletes it.
      await stopBoth();
      writeFileSync(join(project, 'tick.yaml'), TICK('', wf));
      const third = ports.map((port) => new CliProcess(['start', project, '--port', String(port)], distributed));
      procs.push(...third);
      await Promise.all(third.map((s) => s.waitForOutput('schedules: ', 60_000)));
      await until('one server to delete the schedule', async () => (third.filter((s) => s.output.includes(`schedules: deleted schedule-${name}-${wf}`)).length === 1 ? true : undefined));
      await until('Temporal to list none', async () => ((await listed()).length === 0 ? true : undefined));
    }, 300_000);
  }),
);
