import { Cron } from 'croner';
import { isValidDuration, parseDuration } from './duration.js';
import { isObj, suggestion, type Obj, type Reader } from './read.js';
import type { Located } from './types.js';
import type { YamlPath } from './yaml-file.js';

/** What Temporal does when a fire time comes while the previous run is still going (reference engine/workflow/config.go OverlapPolicy). */
export const OVERLAP_POLICIES = ['skip', 'allow', 'buffer_one', 'cancel_other'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** A workflow's `schedule:` with the reference's defaults applied (engine/workflow/config.go SetDefaults: enabled true, overlap_policy skip; timezone UTC). */
export interface WorkflowSchedule extends Located {
  cron: string;
  timezone: string;
  enabled: boolean;
  /** The jitter as written (a Go duration) and in milliseconds. */
  jitter?: string;
  jitterMs?: number;
  overlapPolicy: OverlapPolicy;
  /** RFC 3339 instants, normalised to ISO 8601 UTC. */
  startAt?: string;
  endAt?: string;
  /** The input of every scheduled run (validated against the workflow's config.input). */
  input: Record<string, unknown>;
}

/** How a cron text is handed to Temporal: a cron expression in its 7-field form, or an interval for `@every`. */
export type TemporalCron = { kind: 'cron'; expression: string } | { kind: 'interval'; everyMs: number };

/** The descriptors the reference's validator expands (engine/workflow/schedule/operations.go normalizeCronMacros), in the 6-field seconds-first form. */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const FORMS = '5 fields (minute hour day month weekday), 6 (second first), 7 (second first, year last), @every <duration> or one of ' + Object.keys(DESCRIPTORS).join(', ');

/** Temporal Schedules fire at most once a second. */
const MIN_EVERY_MS = 1000;

/**
 * The Temporal form of a cron text, or the problem with it. 5- and 6-field forms are padded to the
 * 7-field seconds-first, year-last form the reference sends (operations.go EnsureTemporalCron:
 * Temporal reads 6 fields as minute…year, not second…weekday); descriptors are expanded first;
 * `@every` becomes an interval, since Temporal's own `@every` takes a single unit only.
 */
export function temporalCron(text: string): { ok: true; value: TemporalCron } | { ok: false; message: string } {
  const expr = text.trim();
  if (expr.startsWith('@every')) {
    const duration = expr.slice('@every'.length).trim();
    if (!isValidDuration(duration)) return { ok: false, message: `"${expr}": "${duration}" is not a duration (write e.g. @every 30s, @every 1h30m).` };
    const everyMs = parseDuration(duration);
    if (everyMs < MIN_EVERY_MS) return { ok: false, message: `"${expr}" is shorter than a second; Temporal Schedules fire at most once a second.` };
    return { ok: true, value: { kind: 'interval', everyMs } };
  }
  if (expr.startsWith('@')) {
    const expanded = DESCRIPTORS[expr];
    if (!expanded) return { ok: false, message: `"${expr}" is not a cron descriptor. ${suggestion(expr, [...Object.keys(DESCRIPTORS), '@every'], 'descriptor')}` };
    return { ok: true, value: { kind: 'cron', expression: `${expanded} *` } };
  }
  const fields = expr.split(/\s+/);
  if (fields.length < 5 || fields.length > 7) return { ok: false, message: `"${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a cron is ${FORMS}.` };
  try {
    // Temporal ANDs day-of-month and day-of-week when both are set; croner is told to do the same.
    new Cron(expr, { paused: true, timezone: 'UTC', domAndDow: true });
  } catch (error) {
    return { ok: false, message: `"${expr}" is not a valid cron: ${(error as Error).message.replace(/^CronPattern: /, '')}.` };
  }
  const seven = fields.length === 5 ? `0 ${expr} *` : fields.length === 6 ? `${expr} *` : expr;
  return { ok: true, value: { kind: 'cron', expression: seven.split(/\s+/).join(' ') } };
}

/** Whether `zone` is an IANA time zone name (Temporal loads zones from the tz database, so offsets such as +02:00 are not names). */
export function isTimeZone(zone: string): boolean {
  if (zone === 'UTC') return true;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const SCHEDULE_FIELDS = new Set(['cron', 'timezone', 'enabled', 'jitter', 'overlap_policy', 'start_at', 'end_at', 'input']);

/** An RFC 3339 instant as ISO 8601 UTC, or a diagnostic. YAML may have parsed it into a Date already. */
function instant(r: Reader, raw: Obj, path: YamlPath, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  r.error([...path, key], `schedule.${key} ${JSON.stringify(value)} is not an RFC 3339 time.`, `Write it like "2026-01-01T00:00:00Z" (with a Z or an offset such as +02:00).`);
  return undefined;
}

/** A workflow's `schedule:` mapping (reference engine/workflow/config.go Schedule), every problem a diagnostic naming its field. */
export function readSchedule(r: Reader, workflow: Obj): WorkflowSchedule | undefined {
  const path: YamlPath = ['schedule'];
  const value = workflow.schedule;
  if (value === undefined || value === null) return undefined;
  if (!isObj(value)) {
    r.error(path, 'schedule must be a mapping like {cron: "@every 1h"}.');
    return undefined;
  }
  r.knownKeys(value, path, SCHEDULE_FIELDS, 'schedule');
  const cron = r.string(value, path, 'cron', true);
  let cronOk = false;
  if (cron !== undefined && cron.trim() !== '') {
    const parsed = temporalCron(cron);
    if (parsed.ok) cronOk = true;
    else r.error([...path, 'cron'], `schedule.cron ${parsed.message}`, `Write ${FORMS}.`);
  }
  const timezone = r.string(value, path, 'timezone') ?? 'UTC';
  if (!isTimeZone(timezone)) r.error([...path, 'timezone'], `schedule.timezone "${timezone}" is not an IANA time zone.`, 'Write a tz database name such as UTC, Europe/Paris or America/New_York.');
  let enabled = true;
  if (value.enabled !== undefined && value.enabled !== null) {
    if (typeof value.enabled === 'boolean') enabled = value.enabled;
    else r.error([...path, 'enabled'], 'schedule.enabled must be true or false.');
  }
  const jitter = r.string(value, path, 'jitter');
  if (jitter !== undefined && !isValidDuration(jitter)) r.error([...path, 'jitter'], `schedule.jitter "${jitter}" is not a positive duration.`, 'Write e.g. 30s or 5m (Go duration syntax), or remove jitter:.');
  const overlap = r.string(value, path, 'overlap_policy') ?? 'skip';
  if (!(OVERLAP_POLICIES as readonly string[]).includes(overlap)) r.error([...path, 'overlap_policy'], `schedule.overlap_policy "${overlap}" is not one of ${OVERLAP_POLICIES.join(', ')}.`, suggestion(overlap, OVERLAP_POLICIES, 'overlap policy'));
  const startAt = instant(r, value, path, 'start_at');
  const endAt = instant(r, value, path, 'end_at');
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) r.error([...path, 'end_at'], `schedule.end_at (${endAt}) is not after schedule.start_at (${startAt}).`, 'The schedule fires between start_at and end_at; make end_at the later one.');
  const input = r.map(value, path, 'input');
  if (!cronOk || cron === undefined) return undefined;
  const jitterMs = jitter !== undefined && isValidDuration(jitter) ? parseDuration(jitter) : undefined;
  return {
    file: r.file, path, cron: cron.trim(), timezone, enabled, overlapPolicy: overlap as OverlapPolicy, input,
    ...(jitterMs !== undefined ? { jitter, jitterMs } : {}),
    ...(startAt !== undefined ? { startAt } : {}), ...(endAt !== undefined ? { endAt } : {}),
  };
}
