import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { temporalCron } from '../../src/config/schedule.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

const TASKS = 'tasks:\n  - id: a\n    type: aggregate\n    outputs: { ok: true }\n';

/** Every diagnostic of a project with one workflow, as `file:line:col key: message`. */
function problems(workflow: string): string[] {
  const dir = writeFiles({ 'compozy.yaml': 'name: sched\nworkflows:\n  - source: ./wf.yaml\n', 'wf.yaml': workflow });
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.key}: ${d.message}`);
}

function loaded(schedule: string) {
  const dir = writeFiles({ 'compozy.yaml': 'name: sched\nworkflows:\n  - source: ./wf.yaml\n', 'wf.yaml': `id: wf\nschedule:\n${schedule}${TASKS}` });
  const { project, diagnostics } = loadProjectConfig(dir);
  expect(diagnostics).toEqual([]);
  expect(validateProject(project!)).toEqual([]);
  return project!.workflows[0]!.schedule;
}

describe('workflow schedule at load', () => {
  it('loads with the reference defaults: timezone UTC, enabled true, overlap_policy skip, no input', () => {
    expect(loaded('  cron: "*/5 * * * *"\n')).toMatchObject({ cron: '*/5 * * * *', timezone: 'UTC', enabled: true, overlapPolicy: 'skip', input: {} });
    expect(loaded('  cron: "@every 2s"\n')?.jitter).toBeUndefined();
  });

  it('every field as written: timezone, enabled, jitter, overlap policy, window and input', () => {
    const schedule = loaded('  cron: "0 0 9 * * 1-5"\n  timezone: America/New_York\n  enabled: false\n  jitter: 1m30s\n  overlap_policy: buffer_one\n  start_at: "2030-01-01T00:00:00+02:00"\n  end_at: 2031-01-01T00:00:00Z\n  input: { mode: scheduled }\n');
    expect(schedule).toMatchObject({
      timezone: 'America/New_York', enabled: false, jitter: '1m30s', jitterMs: 90_000, overlapPolicy: 'buffer_one',
      startAt: '2029-12-31T22:00:00.000Z', endAt: '2031-01-01T00:00:00.000Z', input: { mode: 'scheduled' },
    });
  });

  it('5-, 6- and 7-field crons, descriptors and @every reach Temporal in its 7-field seconds-first form or as an interval', () => {
    expect(temporalCron('*/5 * * * *')).toEqual({ ok: true, value: { kind: 'cron', expression: '0 */5 * * * * *' } });
    expect(temporalCron('0,15,30,45 * * * * *')).toEqual({ ok: true, value: { kind: 'cron', expression: '0,15,30,45 * * * * * *' } });
    expect(temporalCron('0 0 9 * * MON-FRI 2030-2032')).toEqual({ ok: true, value: { kind: 'cron', expression: '0 0 9 * * MON-FRI 2030-2032' } });
    expect(temporalCron('@daily')).toEqual({ ok: true, value: { kind: 'cron', expression: '0 0 0 * * * *' } });
    expect(temporalCron('@hourly')).toEqual({ ok: true, value: { kind: 'cron', expression: '0 0 * * * * *' } });
    expect(temporalCron('@every 1h30m')).toEqual({ ok: true, value: { kind: 'interval', everyMs: 5_400_000 } });
    expect(temporalCron('@every 2s')).toEqual({ ok: true, value: { kind: 'interval', everyMs: 2000 } });
  });

  it('a bad cron names schedule.cron and says why', () => {
    const at = (cron: string) => problems(`id: wf\nschedule:\n  cron: "${cron}"\n${TASKS}`);
    expect(at('61 * * * *')).toEqual(['wf.yaml:3:3 schedule.cron: schedule.cron "61 * * * *" is not a valid cron: Invalid value for minute: 61.']);
    expect(at('* * *')).toEqual(['wf.yaml:3:3 schedule.cron: schedule.cron "* * *" has 3 fields; a cron is 5 fields (minute hour day month weekday), 6 (second first), 7 (second first, year last), @every <duration> or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly.']);
    expect(at('@dialy')).toEqual(['wf.yaml:3:3 schedule.cron: schedule.cron "@dialy" is not a cron descriptor. Did you mean "@daily"?']);
    expect(at('@every soon')).toEqual(['wf.yaml:3:3 schedule.cron: schedule.cron "@every soon": "soon" is not a duration (write e.g. @every 30s, @every 1h30m).']);
    expect(at('@every 500ms')).toEqual(['wf.yaml:3:3 schedule.cron: schedule.cron "@every 500ms" is shorter than a second; Temporal Schedules fire at most once a second.']);
    expect(problems(`id: wf\nschedule: { timezone: UTC }\n${TASKS}`)).toEqual(['wf.yaml:2:1 schedule: "cron" is required.']);
    expect(problems(`id: wf\nschedule: "@daily"\n${TASKS}`)).toEqual(['wf.yaml:2:1 schedule: schedule must be a mapping like {cron: "@every 1h"}.']);
  });

  it('timezone, enabled, jitter, overlap_policy, start_at/end_at and unknown fields are refused by name', () => {
    expect(
      problems(`id: wf\nschedule:\n  cron: "@daily"\n  timezone: Mars/Olympus\n  enabled: "yes"\n  jitter: soon\n  overlap_policy: buffer_all\n  start_at: tomorrow\n  catchup: all\n${TASKS}`),
    ).toEqual([
      'wf.yaml:4:3 schedule.timezone: schedule.timezone "Mars/Olympus" is not an IANA time zone.',
      'wf.yaml:5:3 schedule.enabled: schedule.enabled must be true or false.',
      'wf.yaml:6:3 schedule.jitter: schedule.jitter "soon" is not a positive duration.',
      'wf.yaml:7:3 schedule.overlap_policy: schedule.overlap_policy "buffer_all" is not one of skip, allow, buffer_one, cancel_other.',
      'wf.yaml:8:3 schedule.start_at: schedule.start_at "tomorrow" is not an RFC 3339 time.',
      'wf.yaml:9:3 schedule.catchup: Unknown schedule field "catchup".',
    ]);
    expect(problems(`id: wf\nschedule:\n  cron: "@daily"\n  timezone: "+02:00"\n  start_at: "2031-01-01T00:00:00Z"\n  end_at: "2030-01-01T00:00:00Z"\n${TASKS}`)).toEqual([
      'wf.yaml:4:3 schedule.timezone: schedule.timezone "+02:00" is not an IANA time zone.',
      'wf.yaml:6:3 schedule.end_at: schedule.end_at (2030-01-01T00:00:00.000Z) is not after schedule.start_at (2031-01-01T00:00:00.000Z).',
    ]);
  });

  it("schedule.input is checked against the workflow's input schema, by id or inline", () => {
    const schemas = 'schemas:\n  - id: city_input\n    type: object\n    properties: { city: { type: string } }\n    required: [city]\n';
    expect(problems(`id: wf\n${schemas}config:\n  input: city_input\nschedule:\n  cron: "@daily"\n  input: { town: Paris }\n${TASKS}`)).toEqual([
      "wf.yaml:11:3 schedule.input: schedule.input does not match the workflow's input schema (config.input): / must have required property 'city'.",
    ]);
    expect(problems(`id: wf\nconfig:\n  input: { type: object, properties: { n: { type: number } } }\nschedule:\n  cron: "@daily"\n  input: { n: many }\n${TASKS}`)).toEqual([
      "wf.yaml:6:3 schedule.input: schedule.input does not match the workflow's input schema (config.input): /n must be number.",
    ]);
    expect(problems(`id: wf\n${schemas}config:\n  input: city_input\nschedule:\n  cron: "@daily"\n  input: { city: Paris }\n${TASKS}`)).toEqual([]);
  });
});
