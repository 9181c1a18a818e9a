import type { Status } from '../store/store.js';

export type Strategy = 'wait_all' | 'fail_fast' | 'best_effort' | 'race';

const TERMINAL: ReadonlySet<Status> = new Set(['SUCCESS', 'FAILED', 'TIMED_OUT', 'CANCELED']);

export function isTerminal(status: Status): boolean {
  return TERMINAL.has(status);
}

export interface ProgressInfo {
  total_children: number;
  success_count: number;
  failed_count: number;
  canceled_count: number;
  timed_out_count: number;
  terminal_count: number;
  running_count: number;
  pending_count: number;
  status_counts: Partial<Record<Status, number>>;
  completion_rate: number;
  failure_rate: number;
  overall_status: Status;
}

/** Counts over a parent's children and the parent's status under its strategy (reference §2.5). */
export function progressInfo(statuses: readonly Status[], strategy: Strategy): ProgressInfo {
  const counts: Partial<Record<Status, number>> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  const n = (status: Status) => counts[status] ?? 0;
  const total = statuses.length;
  const terminal = statuses.filter(isTerminal).length;
  const success = n('SUCCESS');
  const failed = n('FAILED');
  const timedOut = n('TIMED_OUT');
  return {
    total_children: total,
    success_count: success,
    failed_count: failed,
    canceled_count: n('CANCELED'),
    timed_out_count: timedOut,
    terminal_count: terminal,
    running_count: n('RUNNING') + n('WAITING') + n('PAUSED'),
    pending_count: n('PENDING'),
    status_counts: counts,
    completion_rate: total === 0 ? 0 : success / total,
    failure_rate: total === 0 ? 0 : (failed + timedOut) / total,
    overall_status: overallStatus({ total, terminal, success, failed: failed + timedOut }, strategy),
  };
}

interface Tally {
  total: number;
  terminal: number;
  success: number;
  /** Failed or timed out. */
  failed: number;
}

function overallStatus(t: Tally, strategy: Strategy): Status {
  if (t.total === 0) return 'PENDING';
  const allDone = t.terminal === t.total;
  switch (strategy) {
    case 'fail_fast':
      if (t.failed > 0) return 'FAILED';
      return t.success === t.total ? 'SUCCESS' : allDone ? 'FAILED' : 'RUNNING';
    case 'best_effort':
      if (!allDone) return 'RUNNING';
      return t.success > 0 ? 'SUCCESS' : 'FAILED';
    case 'race':
      if (t.success > 0) return 'SUCCESS';
      return allDone ? 'FAILED' : 'RUNNING';
    default:
      if (t.success === t.total) return 'SUCCESS';
      return allDone ? 'FAILED' : 'RUNNING';
  }
}

/** Whether a parent's outcome is settled before every child finished (fail_fast and race stop early). */
export function settledEarly(t: Tally, strategy: Strategy): boolean {
  return (strategy === 'fail_fast' && t.failed > 0) || (strategy === 'race' && t.success > 0);
}
