import { describe, expect, it } from 'vitest';
import { countAttempts, retriesLabel, type Attempts } from '../../web/src/tree.js';

type Event = { id: string | undefined; event: string; data: Record<string, unknown> };
const task = (id: number, event: string, taskExecId: string): Event => ({ id: String(id), event, data: { task: { task_exec_id: taskExecId } } });
const execution = (id: number, event: string): Event => ({ id: String(id), event, data: { execution: {} } });
const fold = (events: Event[], from?: Attempts) => events.reduce<Attempts | undefined>(countAttempts, from);

describe('the dashboard\'s attempts per task, from an execution stream', () => {
  it('counts task.started per task_exec_id in a stream from the log\'s event 1 (the execution\'s creation)', () => {
    const attempts = fold([
      execution(1, 'execution.status'),
      execution(2, 'execution.status'),
      task(3, 'task.started', 'a'),
      task(4, 'task.failed', 'a'),
      task(5, 'task.started', 'a'),
      task(6, 'task.succeeded', 'a'),
      task(7, 'task.status', 'b'),
      task(8, 'task.started', 'b'),
      task(9, 'task.succeeded', 'b'),
      execution(10, 'execution.finished'),
    ]);
    expect(attempts).toEqual({ a: 2, b: 1 });
    expect(retriesLabel(2)).toBe('1 retry');
    expect(retriesLabel(3)).toBe('2 retries');
  });

  it('keeps the counts when a reconnect resumes after Last-Event-ID', () => {
    const before = fold([execution(1, 'execution.status'), task(2, 'task.started', 'a'), task(3, 'task.failed', 'a')]);
    expect(fold([task(4, 'task.started', 'a'), task(5, 'task.succeeded', 'a')], before ?? null)).toEqual({ a: 2 });
  });

  it('knows nothing from a replay of stored states (an expired log): its event 1 is a task, not the creation', () => {
    // What execution-stream.ts sends for an ended execution without a log: each stored state once, then its end.
    expect(fold([task(1, 'task.started', 'a'), task(2, 'task.succeeded', 'b'), execution(3, 'execution.finished')])).toBeNull();
  });
});
