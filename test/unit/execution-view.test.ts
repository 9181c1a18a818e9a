import { describe, expect, it } from 'vitest';
import { executionDetail, executionsTable, formatDuration, taskTreeLines, workflowDetail, type ExecutionWithTasksJson, type TaskStateJson } from '../../src/cli/execution-view.js';
import { table } from '../../src/cli/output.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function task(id: string, fields: Partial<TaskStateJson> & { start: number; end: number }): TaskStateJson {
  const { start, end, ...rest } = fields;
  return {
    task_exec_id: `exec-${id}`,
    task_id: id,
    component: 'task',
    status: 'SUCCESS',
    execution_type: 'basic',
    parent_state_id: null,
    agent_id: null,
    action_id: null,
    tool_id: null,
    workflow_id: 'wf',
    workflow_exec_id: 'E1',
    input: null,
    output: null,
    error: null,
    usage: null,
    created_at: at(start),
    updated_at: at(end),
    ...rest,
  };
}

describe('formatDuration', () => {
  it('uses the unit that fits', () => {
    expect([0, 850, 3240, 65_000, 3_725_000].map(formatDuration)).toEqual(['0ms', '850ms', '3.2s', '1m05s', '1h02m']);
  });
});

describe('table', () => {
  it('aligns columns by their visible width, colour codes not counted', () => {
    expect(table([['A', 'B'], ['\u001b[32mlong\u001b[39m', 'x'], ['s', 'y']])).toBe('A     B\n\u001b[32mlong\u001b[39m  x\ns     y');
  });
});

describe('taskTreeLines', () => {
  it('nests children under their parent in creation order, with type, status and duration; a running one counts until now', () => {
    const states = [
      task('second', { start: 5000, end: 5400, status: 'RUNNING' }),
      task('parent', { start: 1000, end: 4000, execution_type: 'collection' }),
      task('child-10', { start: 2000, end: 2500, parent_state_id: 'exec-parent' }),
      task('child-2', { start: 2000, end: 2500, parent_state_id: 'exec-parent' }),
      task('child-0', { start: 1500, end: 2100, parent_state_id: 'exec-parent', status: 'FAILED', error: { message: 'boom' } }),
    ];
    expect(taskTreeLines(states, T0 + 6000, false)).toEqual([
      '  parent      collection  SUCCESS  3.0s',
      '    child-0   basic       FAILED   600ms',
      '      ✗ boom',
      '    child-2   basic       SUCCESS  500ms',
      '    child-10  basic       SUCCESS  500ms',
      '  second      basic       RUNNING  1.0s',
    ]);
  });

  it('says so when no task has started', () => {
    expect(taskTreeLines([], T0, false)).toEqual(['  (no task has started)']);
  });
});

describe('executionDetail and executionsTable', () => {
  const execution: ExecutionWithTasksJson = {
    workflow_exec_id: 'E1',
    workflow_id: 'wf',
    status: 'SUCCESS',
    input: {},
    output: { n: 1 },
    error: null,
    usage: null,
    created_at: at(0),
    updated_at: at(2500),
    tasks: { only: task('only', { start: 100, end: 2400 }) },
  };

  it('shows the head line, the task tree and the output of a successful execution', () => {
    expect(executionDetail(execution, T0 + 10_000, false)).toBe(['wf E1 SUCCESS (2.5s, started 2026-12-04T10:00:00.000Z)', 'Tasks:', '  only  basic  SUCCESS  2.3s', 'Output:', '  {', '    "n": 1', '  }'].join('\n'));
  });

  it('shows the error and no output of a failed one', () => {
    const failed = { ...execution, status: 'FAILED' as const, output: null, error: { code: 'TASK_FAILED', message: 'it broke' } };
    expect(executionDetail(failed, T0 + 10_000, false).split('\n').slice(0, 2)).toEqual(['wf E1 FAILED (2.5s, started 2026-12-04T10:00:00.000Z)', '✗ TASK_FAILED: it broke']);
    expect(executionDetail(failed, T0 + 10_000, false)).not.toContain('Output:');
  });

  it('stops the clock of a task an ended execution left unfinished at the execution\'s end', () => {
    const canceled = { ...execution, status: 'CANCELED' as const, output: null, error: { message: 'the execution was canceled' }, tasks: { approve: task('approve', { start: 0, end: 0, status: 'RUNNING', execution_type: 'wait' }) } };
    expect(executionDetail(canceled, T0 + 60_000, false)).toContain('  approve  wait  RUNNING  2.5s');
  });

  it('lists executions with their duration so far', () => {
    expect(executionsTable([{ ...execution, status: 'RUNNING' }], T0 + 4000, false)).toBe('EXECUTION  WORKFLOW  STATUS   STARTED                   DURATION\nE1         wf        RUNNING  2026-12-04T10:00:00.000Z  4.0s');
    expect(executionsTable([], T0, false)).toBe('No executions.');
  });
});

describe('workflowDetail', () => {
  it('lists the input properties, the tasks in order and the outputs', () => {
    const text = workflowDetail(
      {
        id: 'nap',
        version: '1.0',
        description: 'Two tasks',
        input: { type: 'object', properties: { n: { type: 'integer', description: 'how many' }, label: { type: ['string', 'null'] } }, required: ['n'] },
        tasks: [
          { id: 'first', type: 'basic' },
          { id: 'second', type: 'wait' },
        ],
        outputs: { n: '{{ .tasks.second.output.n }}' },
      },
      false,
    );
    expect(text).toBe(
      ['nap v1.0', 'Two tasks', '', 'Input:', '  n      integer      required  how many', '  label  string|null  optional', '', 'Tasks:', '  1.  first   basic', '  2.  second  wait', '', 'Outputs:', '  {', '    "n": "{{ .tasks.second.output.n }}"', '  }'].join('\n'),
    );
  });

  it('says when a workflow has no input schema', () => {
    expect(workflowDetail({ id: 'w', version: null, description: null, input: null, tasks: [], outputs: null }, false)).toContain('Input:\n  (no input schema: any object)');
  });
});
