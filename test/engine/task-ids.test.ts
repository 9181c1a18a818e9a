import { describe, expect, it } from 'vitest';
import { isKsuid } from '../../src/store/ksuid.js';
import { TaskIds, taskExecId } from '../../src/engine/task-ids.js';

const EXEC = '2Q3vVZxH9l6m1u8uSdG0yC1Hc7R';
const STARTED = Date.parse('2026-12-02T18:00:00Z');

function sequence(ids: TaskIds): string[] {
  const parent = ids.next('fanout');
  return [parent, ids.next(`${parent}/0:a`), ids.next(`${parent}/1:b`), ids.next('after'), ids.next('fanout')];
}

describe('task execution ids', () => {
  it('are the same on every attempt of the same run, whatever the clock says', () => {
    const first = sequence(new TaskIds(EXEC, 'run-1', STARTED));
    const retried = sequence(new TaskIds(EXEC, 'run-1', STARTED));
    expect(retried).toEqual(first);
    for (const id of first) expect(isKsuid(id)).toBe(true);
  });

  it('differ between tasks, between repeats of one task, and between runs and executions', () => {
    const ids = sequence(new TaskIds(EXEC, 'run-1', STARTED));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).not.toBe(ids[4]);
    const nextRun = sequence(new TaskIds(EXEC, 'run-2', STARTED));
    expect(nextRun.filter((id) => ids.includes(id))).toEqual([]);
    const otherExec = sequence(new TaskIds('2Q3vVZxH9l6m1u8uSdG0yC1Hc7S', 'run-1', STARTED));
    expect(otherExec.filter((id) => ids.includes(id))).toEqual([]);
  });

  it('spread 100,000 sibling paths without a collision', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(taskExecId(EXEC, 'run-1', STARTED, `parent/${i}:item#0`));
    expect(seen.size).toBe(100_000);
  });

  it('sort with the execution: the time part is the execution start', () => {
    const early = taskExecId(EXEC, 'r', STARTED, 'k');
    const late = taskExecId(EXEC, 'r', STARTED + 60_000, 'k');
    expect(early < late).toBe(true);
  });
});
