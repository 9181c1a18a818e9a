import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineProject } from '../../src/engine/project.js';
import { stateQuery } from '../../src/engine/workflows/messages.js';
import type { TaskState, WorkflowExecutionWithTasks } from '../../src/store/store.js';
import { startHarness, TOOLS_YAML, writeProject, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness(inject('temporalBin'));
}, 60_000);

afterAll(async () => {
  await h?.close();
});

function workflow(id: string, body: string): EngineProject {
  return writeProject({ [`workflows/${id}.yaml`]: `id: ${id}\n${TOOLS_YAML}${body}` });
}

function task(execution: WorkflowExecutionWithTasks, id: string): TaskState {
  const state = execution.tasks[id];
  if (!state) throw new Error(`no state for task ${id}: ${Object.keys(execution.tasks).join(', ')}`);
  return state;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('control flow', () => {
  const project = () =>
    workflow(
      'flow',
      `config:
  input:
    type: object
    properties:
      name: { type: string }
    required: [name]
tasks:
  - id: greet
    tool: echo
    with:
      message: "hello {{ .workflow.input.name }}"
      count: "{{ .workflow.input.count }}"
    outputs:
      greeting: "{{ .output.message }}"
      count: "{{ .output.count }}"
    on_success:
      next: shout
  - id: unreached
    tool: echo
    with: { message: never }
  - id: shout
    tool: echo
    with:
      message: "{{ .tasks.greet.output.greeting | upper }}"
outputs:
  greeting: "{{ .tasks.shout.output.message }}"
  count: "{{ .tasks.greet.output.count }}"
  tasks_run: "{{ len .tasks }}"
`,
    );

  it('follows on_success.next, never falls through, keeps types, and renders workflow outputs', async () => {
    const execution = await h.run(project(), 'flow', { name: 'ada', count: 3 });
    expect(execution.status).toBe('SUCCESS');
    expect(execution.error).toBeNull();
    expect(execution.output).toEqual({ greeting: 'HELLO ADA', count: 3, tasks_run: '2' });
    expect(Object.keys(execution.tasks)).toEqual(['greet', 'shout']);
    expect(task(execution, 'greet')).toMatchObject({ status: 'SUCCESS', component: 'tool', toolId: 'echo', executionType: 'basic', output: { greeting: 'hello ada', count: 3 } });
    expect(task(execution, 'greet').input).toEqual({ message: 'hello ada', count: 3 });
    expect(task(execution, 'greet').taskExecId).toMatch(/^[0-9A-Za-z]{27}$/);
  });

  it('without workflow outputs, the output maps every task id to its output', async () => {
    const p = workflow('plain', 'tasks:\n  - id: one\n    tool: echo\n    with: { v: 1 }\n    on_success: { next: two }\n  - id: two\n    tool: echo\n    with: { v: 2 }\n');
    const execution = await h.run(p, 'plain');
    expect(execution.output).toEqual({ one: { output: { v: 1 } }, two: { output: { v: 2 } } });
  });

  it('starts at task_id when given', async () => {
    const p = project();
    const { execId } = await h.engine(p).start('flow', { name: 'x' }, { startTaskId: 'unreached' });
    const execution = await h.finish(execId);
    expect(Object.keys(execution.tasks)).toEqual(['unreached']);
  });

  it('a task whose output reports an error takes on_error.next, and the workflow still ends FAILED', async () => {
    const p = workflow(
      'failure',
      `tasks:
  - id: check
    tool: report
    with: { error: "disk full" }
    on_error: { next: recover }
    on_success: { next: never_here }
  - id: never_here
    tool: echo
  - id: recover
    tool: echo
    with:
      message: "recovered from {{ .tasks.check.error.message }}"
`,
    );
    const execution = await h.run(p, 'failure');
    expect(task(execution, 'check')).toMatchObject({ status: 'FAILED', error: { message: 'disk full', code: 'TASK_FAILED' } });
    expect(task(execution, 'recover')).toMatchObject({ status: 'SUCCESS', output: { message: 'recovered from disk full' } });
    expect(execution.tasks.never_here).toBeUndefined();
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.message).toBe('task check failed: disk full');
  });

  it('success: false fails a task too', async () => {
    const p = workflow('falsy', 'tasks:\n  - id: check\n    tool: report\n    with: { success: "false" }\n');
    const execution = await h.run(p, 'falsy');
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.message).toContain('task failed with no error transition defined');
  });

  it('retries a throwing task up to retries, then records the failure and fails the workflow', async () => {
    const p = workflow(
      'retry',
      `tasks:
  - id: flaky_ok
    tool: flaky
    retries: 2
    with: { key: "ok-{{ .workflow.exec_id }}", failures: 2 }
    on_success: { next: flaky_bad }
  - id: flaky_bad
    tool: flaky
    retries: 1
    with: { key: "bad-{{ .workflow.exec_id }}", failures: 5 }
`,
    );
    const execution = await h.run(p, 'retry');
    expect(task(execution, 'flaky_ok')).toMatchObject({ status: 'SUCCESS', output: { attempts: 3 } });
    expect(task(execution, 'flaky_bad')).toMatchObject({ status: 'FAILED', error: { message: 'flaky failure 2' } });
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.message).toBe('task failed with no error transition defined: flaky failure 2');
    expect(h.tools.calls.filter((c) => c.tool === 'flaky' && String(c.input.key).startsWith('bad-') && String(c.input.key).endsWith(execution.workflowExecId))).toHaveLength(2);
  }, 30_000);

  it('a template error fails the task at once with its position, without retries', async () => {
    const p = workflow('badtemplate', 'tasks:\n  - id: t\n    tool: echo\n    retries: 3\n    with:\n      v: "{{ .workflow.input.missing.deeper }}"\n');
    const execution = await h.run(p, 'badtemplate');
    expect(task(execution, 't').status).toBe('FAILED');
    expect(task(execution, 't').error?.code).toBe('TEMPLATE_ERROR');
    expect(task(execution, 't').error?.message).toMatch(/^template: 1:\d+:/);
  });
});

describe('transitions, sleep and execution options', () => {
  it('a transition with: reaches the next task as input', async () => {
    const p = workflow(
      'handoff',
      'tasks:\n  - id: a\n    tool: echo\n    with: { v: 7 }\n    on_success:\n      next: b\n      with:\n        from_a: "{{ .output.v }}"\n  - id: b\n    tool: echo\n    with: { own: 1 }\n',
    );
    const execution = await h.run(p, 'handoff');
    expect(task(execution, 'b').input).toEqual({ own: 1, from_a: 7 });
  });

  it('sleep: pauses on a durable timer before the task runs', async () => {
    const p = workflow('nap', 'tasks:\n  - id: later\n    sleep: 300ms\n    tool: echo\n    with: { v: 1 }\n');
    const execution = await h.run(p, 'nap');
    expect(task(execution, 'later').status).toBe('SUCCESS');
    const history = await h.client.workflow.getHandle(execution.workflowExecId).fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => Number(e.timerStartedEventAttributes?.startToFireTimeout?.nanos ?? 0) / 1e6);
    expect(timers).toEqual([300]);
  });

  it('retry_policy from the workflow config sets the attempts; the task config overrides it', async () => {
    const p = workflow(
      'policy',
      `config:
  retry_policy:
    maximum_attempts: 2
    initial_interval: 50ms
tasks:
  - id: twice
    tool: flaky
    with: { key: "w-{{ .workflow.exec_id }}", failures: 5 }
    on_error: { next: thrice }
  - id: thrice
    tool: flaky
    config:
      retry_policy:
        maximum_attempts: 3
    with: { key: "t-{{ .workflow.exec_id }}", failures: 2 }
`,
    );
    const execution = await h.run(p, 'policy');
    expect(task(execution, 'twice')).toMatchObject({ status: 'FAILED', error: { message: 'flaky failure 2' } });
    expect(task(execution, 'thrice')).toMatchObject({ status: 'SUCCESS', output: { attempts: 3 } });
  });

  it('config durations are checked when the project loads', () => {
    expect(() => workflow('badpolicy', 'config:\n  retry_policy:\n    initial_interval: soon\ntasks:\n  - id: t\n    tool: echo\n')).toThrow(/"soon" is not a duration/);
  });

  it('a task that times out ends TIMED_OUT and counts as timed out in its parent', async () => {
    const p = parallel('ptime', 'best_effort', child('ok', 10) + `      - id: late
        tool: sleep
        retries: 0
        with: { ms: 10, fail: "took too long", code: TOOL_TIMEOUT }
`);
    const execution = await h.run(p, 'ptime');
    expect(task(execution, 'late')).toMatchObject({ status: 'TIMED_OUT', error: { code: 'TOOL_TIMEOUT' } });
    expect((task(execution, 'group').output as { progress_info: Record<string, number> }).progress_info).toMatchObject({ timed_out_count: 1, success_count: 1 });
  });
});

describe('router', () => {
  const project = () =>
    workflow(
      'route',
      `tasks:
  - id: pick
    type: router
    condition: "{{ .workflow.input.kind }}"
    routes:
      a: route_a
      b:
        id: inline_b
        tool: echo
        with: { message: inline }
  - id: route_a
    tool: echo
    with: { message: a }
`,
    );

  it('takes the route named by the rendered template', async () => {
    const execution = await h.run(project(), 'route', { kind: 'a' });
    expect(execution.status).toBe('SUCCESS');
    expect(task(execution, 'pick')).toMatchObject({ executionType: 'router', output: { condition: '{{ .workflow.input.kind }}', route_taken: 'route_a', router_type: 'conditional' } });
    expect(task(execution, 'route_a').output).toEqual({ message: 'a' });
  });

  it('runs an inline route', async () => {
    const execution = await h.run(project(), 'route', { kind: 'b' });
    expect(task(execution, 'inline_b').output).toEqual({ message: 'inline' });
    expect(task(execution, 'pick').output).toMatchObject({ route_taken: 'inline_b' });
  });

  it('fails with the available routes when none matches', async () => {
    const execution = await h.run(project(), 'route', { kind: 'z' });
    expect(execution.status).toBe('FAILED');
    expect(task(execution, 'pick').error).toMatchObject({ code: 'ROUTE_NOT_FOUND', message: "no route found for condition result 'z'. Available routes: [a b]" });
  });

  it('evaluates a CEL condition', async () => {
    const p = workflow(
      'celroute',
      `tasks:
  - id: pick
    type: router
    condition: 'workflow.input.n > 5 ? "big" : "small"'
    routes: { big: big, small: small }
  - id: big
    tool: echo
    with: { size: big }
  - id: small
    tool: echo
    with: { size: small }
`,
    );
    expect(task(await h.run(p, 'celroute', { n: 9 }), 'big').output).toEqual({ size: 'big' });
    expect(task(await h.run(p, 'celroute', { n: 1 }), 'small').output).toEqual({ size: 'small' });
  });
});

function parallel(id: string, strategy: string, children: string, extra = ''): EngineProject {
  return workflow(id, `tasks:\n  - id: group\n    type: parallel\n    strategy: ${strategy}\n${extra}    tasks:\n${children}`);
}

const child = (id: string, ms: number, fail?: string) => `      - id: ${id}\n        tool: sleep\n        with: { ms: ${ms}, label: ${id}${fail ? `, fail: "${fail}"` : ''} }\n`;

describe('parallel', () => {
  it('wait_all: every child runs, the parent output has progress_info and outputs, outputs: see the map', async () => {
    const p = parallel('pall', 'wait_all', child('a', 50) + child('b', 10), '    outputs:\n      count: "{{ len .output }}"\n      labels: "{{ .output.a.label }}-{{ .output.b.label }}"\n');
    const execution = await h.run(p, 'pall');
    expect(execution.status).toBe('SUCCESS');
    const group = task(execution, 'group');
    expect(group.output).toEqual({ count: '2', labels: 'a-b' });
    expect(task(execution, 'a').parentStateId).toBe(group.taskExecId);
    expect(task(execution, 'b')).toMatchObject({ status: 'SUCCESS', output: { slept: 10, label: 'b' } });
    expect(execution.output).toMatchObject({ group: { output: { count: '2', labels: 'a-b' }, execution_type: 'parallel' }, a: { parent_state_id: group.taskExecId } });
  });

  it('wait_all with a failed child fails the parent with the counts and the failed tasks', async () => {
    const execution = await h.run(parallel('pfail', 'wait_all', child('a', 10) + child('b', 10, 'broken')), 'pfail');
    const group = task(execution, 'group');
    expect(group.status).toBe('FAILED');
    expect(group.error?.code).toBe('child_task_failure');
    expect(group.error?.message).toContain('parallel task failed: success=1, failed=1, canceled=0, timed_out=0, terminal=2/2');
    expect(group.error?.message).toContain('Failed tasks: [task[b]: broken]');
    expect((group.output as { progress_info: { overall_status: string } }).progress_info.overall_status).toBe('FAILED');
  });

  it('fail_fast cancels the children still running', async () => {
    const execution = await h.run(parallel('pff', 'fail_fast', child('slow', 5000) + child('bad', 10, 'boom')), 'pff');
    expect(task(execution, 'group').status).toBe('FAILED');
    expect(task(execution, 'bad').status).toBe('FAILED');
    expect(task(execution, 'slow').status).toBe('CANCELED');
  });

  it('best_effort succeeds when at least one child succeeds', async () => {
    const execution = await h.run(parallel('pbe', 'best_effort', child('ok', 10) + child('bad', 10, 'boom')), 'pbe');
    expect(task(execution, 'group').status).toBe('SUCCESS');
    expect((task(execution, 'group').output as { progress_info: Record<string, number> }).progress_info).toMatchObject({ success_count: 1, failed_count: 1, total_children: 2 });
  });

  it('race succeeds on the first success and cancels the rest', async () => {
    const execution = await h.run(parallel('prace', 'race', child('fast', 10) + child('slow', 5000)), 'prace');
    expect(task(execution, 'group').status).toBe('SUCCESS');
    expect(task(execution, 'fast').status).toBe('SUCCESS');
    expect(task(execution, 'slow').status).toBe('CANCELED');
  });

  it('max_workers bounds how many children run at once', async () => {
    const execution = await h.run(parallel('pmax', 'wait_all', child('a', 300) + child('b', 300) + child('c', 300), '    max_workers: 1\n'), 'pmax');
    const states = ['a', 'b', 'c'].map((id) => task(execution, id));
    for (let i = 1; i < states.length; i++) expect(Date.parse((states[i] as TaskState).createdAt)).toBeGreaterThanOrEqual(Date.parse((states[i - 1] as TaskState).updatedAt));
  });

  it('refuses nesting deeper than the limit', async () => {
    const p = writeProject(
      {
        'workflows/deep.yaml': `id: deep\n${TOOLS_YAML}tasks:\n  - id: l1\n    type: parallel\n    tasks:\n      - id: l2\n        type: parallel\n        tasks:\n          - id: l3\n            type: parallel\n            tasks:\n              - id: leaf\n                tool: echo\n`,
      },
      2,
    );
    const execution = await h.run(p, 'deep');
    expect(task(execution, 'l3').error).toMatchObject({ code: 'NESTING_TOO_DEEP' });
    expect(execution.status).toBe('FAILED');
  });
});

describe('collection, composite, aggregate', () => {
  it('collection: items, CEL filter, templated child ids, item and index, outputs over the children', async () => {
    const p = workflow(
      'coll',
      `tasks:
  - id: each
    type: collection
    items: "{{ .workflow.input.cities }}"
    filter: 'item != "skip"'
    item_var: city
    task:
      id: "visit-{{ .index }}"
      tool: echo
      with:
        city: "{{ .city }}"
        position: "{{ .index }}"
    outputs:
      count: "{{ len .output }}"
      first: "{{ .output.visit-0.city }}"
      child_status: '{{ (index .children "visit-2").status }}'
    on_success: { next: after }
  - id: after
    tool: echo
    with:
      seen: "{{ .tasks.each.output.output.count }}"
      second: "{{ .tasks.each.output.visit-2.output.city }}"
`,
    );
    const execution = await h.run(p, 'coll', { cities: ['Lisbon', 'skip', 'Porto'] });
    expect(execution.status).toBe('SUCCESS');
    expect(task(execution, 'each').output).toEqual({ count: '2', first: 'Lisbon', child_status: 'SUCCESS' });
    expect(task(execution, 'visit-0').input).toEqual({ city: 'Lisbon', position: 0 });
    expect(task(execution, 'visit-2').input).toEqual({ city: 'Porto', position: 2 });
    expect(execution.tasks['visit-1']).toBeUndefined();
    expect(task(execution, 'after').output).toEqual({ seen: '2', second: 'Porto' });
  });

  it('collection without outputs: keeps progress_info, outputs and collection_metadata; sequential runs one at a time', async () => {
    const p = workflow(
      'seq',
      `tasks:
  - id: each
    type: collection
    mode: sequential
    items: [30, 30, 30]
    task:
      id: "s-{{ .index }}"
      tool: sleep
      with: { ms: "{{ .item }}" }
`,
    );
    const execution = await h.run(p, 'seq');
    const output = task(execution, 'each').output as Record<string, unknown>;
    expect(output.collection_metadata).toEqual({ item_count: 3, skipped_count: 0 });
    expect(Object.keys(output.outputs as object)).toEqual(['s-0', 's-1', 's-2']);
    expect(output.progress_info).toMatchObject({ total_children: 3, success_count: 3, overall_status: 'SUCCESS', completion_rate: 1 });
    const states = ['s-0', 's-1', 's-2'].map((id) => task(execution, id));
    for (let i = 1; i < states.length; i++) expect(Date.parse((states[i] as TaskState).createdAt)).toBeGreaterThanOrEqual(Date.parse((states[i - 1] as TaskState).updatedAt));
  });

  it('collection with tasks: runs every template for every item', async () => {
    const p = workflow(
      'multi',
      'tasks:\n  - id: each\n    type: collection\n    items: [a, b]\n    tasks:\n      - id: "first-{{ .item }}"\n        tool: echo\n        with: { v: "{{ .item }}" }\n      - id: "second-{{ .item }}"\n        tool: echo\n        with: { v: "{{ .index }}" }\n',
    );
    const execution = await h.run(p, 'multi');
    expect(Object.keys((task(execution, 'each').output as { outputs: object }).outputs)).toEqual(['first-a', 'second-a', 'first-b', 'second-b']);
    expect(task(execution, 'second-b').output).toEqual({ v: 1 });
  });

  it('items that are not a list fail the collection with what they were', async () => {
    const p = workflow('badcoll', 'tasks:\n  - id: each\n    type: collection\n    items: "{{ .workflow.input.n }}"\n    task:\n      id: "x-{{ .index }}"\n      tool: echo\n');
    const execution = await h.run(p, 'badcoll', { n: 5 });
    expect(task(execution, 'each').error?.message).toBe('items of collection "each" rendered to 5, not a list.');
  });

  it('composite: children run in order, later ones see earlier siblings, the first failure stops it', async () => {
    const p = workflow(
      'comp',
      `tasks:
  - id: steps
    type: composite
    tasks:
      - id: first
        tool: echo
        with: { v: 1 }
      - id: second
        tool: echo
        with: { v: "{{ .tasks.first.output.v }}", parent: "{{ .parent.id }}" }
      - id: third
        tool: fail
        with: { message: stop here }
      - id: fourth
        tool: echo
`,
    );
    const execution = await h.run(p, 'comp');
    expect(task(execution, 'second').output).toEqual({ v: 1, parent: 'steps' });
    expect(task(execution, 'third').status).toBe('FAILED');
    expect(execution.tasks.fourth).toBeUndefined();
    expect(task(execution, 'steps').status).toBe('FAILED');
    expect((task(execution, 'steps').output as { progress_info: Record<string, number> }).progress_info).toMatchObject({ success_count: 2, failed_count: 1, canceled_count: 1 });
  }, 30_000);

  it('aggregate renders its outputs over earlier tasks', async () => {
    const p = workflow(
      'agg',
      'tasks:\n  - id: a\n    tool: echo\n    with: { n: 2 }\n    on_success: { next: sum }\n  - id: sum\n    type: aggregate\n    outputs:\n      total: "{{ add .tasks.a.output.n 3 }}"\n      both: "{{ .tasks.a.output }}"\n',
    );
    const execution = await h.run(p, 'agg');
    expect(task(execution, 'sum')).toMatchObject({ status: 'SUCCESS', executionType: 'aggregate', output: { total: '5', both: { n: 2 } } });
  });
});

describe('signal, wait and memory', () => {
  it('a signal task fails when no trigger takes its signal', async () => {
    const p = workflow('lonely', 'tasks:\n  - id: notify\n    type: signal\n    signal:\n      id: nobody-listens\n');
    const execution = await h.run(p, 'lonely');
    expect(task(execution, 'notify').error).toMatchObject({ code: 'TRIGGER_NOT_FOUND', message: 'No workflow has a signal trigger named "nobody-listens".' });
  });

  it('a signal task starts the workflow whose trigger has that name (through the KV broker), with the payload as input', async () => {
    const p = writeProject({
      'workflows/sender.yaml': `id: sender\n${TOOLS_YAML}tasks:\n  - id: notify\n    type: signal\n    signal:\n      id: order-ready\n      payload:\n        order: "{{ .workflow.input.order }}"\n`,
      'workflows/receiver.yaml': `id: receiver\n${TOOLS_YAML}triggers:\n  - type: signal\n    name: order-ready\ntasks:\n  - id: handle\n    tool: echo\n    with:\n      got: "{{ .workflow.input.order }}"\n`,
    });
    const execution = await h.run(p, 'sender', { order: 42 });
    expect(task(execution, 'notify')).toMatchObject({ status: 'SUCCESS', executionType: 'signal', output: { signal_dispatched: true, signal_id: 'order-ready' } });
    const received = await until(async () => {
      const page = await h.store.listWorkflowExecutions({ workflowId: 'receiver', status: 'SUCCESS' });
      return page.items.find((e) => (e.input as { order?: number }).order === 42);
    }, 'the triggered receiver');
    const full = await h.store.getWorkflowExecution(received.workflowExecId);
    expect(full?.tasks.handle?.output).toEqual({ got: 42 });
    expect((await h.store.listWorkflowExecutions({ workflowId: 'receiver' })).items.filter((e) => (e.input as { order?: number }).order === 42)).toHaveLength(1);
  });

  const waiting = () =>
    workflow(
      'approval',
      `tasks:
  - id: approval
    type: wait
    wait_for: approve
    timeout: 10s
    condition: 'processor.output.status == "ok" && signal.payload.by != ""'
    processor:
      id: check
      type: basic
      tool: echo
      with:
        status: "{{ .signal.payload.status }}"
    on_success: { next: done }
    on_timeout: expired
  - id: done
    tool: echo
    with:
      by: "{{ .tasks.approval.output.signal.payload.by }}"
  - id: expired
    tool: echo
    with: { expired: true }
`,
    );

  it('a wait task pauses the execution, runs its processor per signal and continues once the condition holds', async () => {
    const p = waiting();
    const engine = h.engine(p);
    const { execId } = await engine.start('approval', {});
    await until(async () => ((await h.store.getWorkflowExecution(execId))?.status === 'PAUSED' ? true : undefined), 'PAUSED');
    await engine.signal(execId, 'approve', { status: 'pending', by: 'x' });
    await engine.signal(execId, 'approve', { status: 'ok', by: 'ana' });
    const execution = await h.finish(execId);
    expect(execution.status).toBe('SUCCESS');
    expect(task(execution, 'approval').output).toMatchObject({ wait_status: 'completed', signal: { payload: { status: 'ok', by: 'ana' }, metadata: { signal_name: 'approve', workflow_exec_id: execId } }, processor_output: { output: { status: 'ok' }, error: null } });
    expect(task(execution, 'done').output).toEqual({ by: 'ana' });
    expect(h.tools.calls.filter((c) => c.tool === 'echo' && (c.input.status === 'pending' || c.input.status === 'ok')).length).toBeGreaterThanOrEqual(2);
  });

  it('a wait task that times out fails with WAIT_TIMEOUT and goes to on_timeout', async () => {
    const p = workflow('shortwait', 'tasks:\n  - id: w\n    type: wait\n    wait_for: never\n    timeout: 1s\n    condition: "true"\n    on_timeout: late\n  - id: late\n    tool: echo\n    with: { late: true }\n');
    const execution = await h.run(p, 'shortwait');
    expect(task(execution, 'w')).toMatchObject({ status: 'FAILED', error: { code: 'WAIT_TIMEOUT', message: 'wait task timed out after 1s', details: { signal_name: 'never', timeout: '1s' } } });
    expect(task(execution, 'late').output).toEqual({ late: true });
    expect(execution.status).toBe('FAILED');
  });

  it('memory tasks go to the memory service with the rendered key and payload', async () => {
    const p = writeProject({
      'compozy.yaml': 'name: memtest\nworkflows:\n  - source: ./workflows/mem.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
      'memory/notes.yaml': 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n',
      'workflows/mem.yaml': `id: mem\n${TOOLS_YAML}tasks:\n  - id: remember\n    type: memory\n    operation: append\n    memory_ref: notes\n    key_template: "user:{{ .workflow.input.user }}"\n    payload:\n      role: user\n      content: "{{ .workflow.input.text }}"\n`,
    });
    const execution = await h.run(p, 'mem', { user: 'u1', text: 'hi' });
    expect(task(execution, 'remember')).toMatchObject({ status: 'SUCCESS', executionType: 'memory', output: { operation: 'append', key: 'user:u1', success: true } });
    expect(h.memoryCalls.at(-1)).toMatchObject({ operation: 'append', memoryRef: 'notes', key: 'user:u1', payload: { role: 'user', content: 'hi' } });
  });
});

describe('steering', () => {
  const slow = () => workflow('slow', 'tasks:\n  - id: one\n    tool: sleep\n    with: { ms: 400 }\n    on_success: { next: two }\n  - id: two\n    tool: sleep\n    with: { ms: 10 }\n');

  it('pause holds the next task until resume; the query shows live state', async () => {
    const p = slow();
    const engine = h.engine(p);
    const { execId } = await engine.start('slow', {});
    await until(async () => ((await h.store.getWorkflowExecution(execId))?.tasks.one ? true : undefined), 'task one');
    await engine.pause(execId);
    await until(async () => ((await h.store.getWorkflowExecution(execId))?.status === 'PAUSED' ? true : undefined), 'PAUSED');
    const live = await h.client.workflow.getHandle(execId).query(stateQuery);
    expect(live).toMatchObject({ execId, workflowId: 'slow', paused: true, status: 'PAUSED', tasks: { one: 'SUCCESS' } });
    expect((await h.store.getWorkflowExecution(execId))?.tasks.two).toBeUndefined();
    await engine.resume(execId);
    const execution = await h.finish(execId);
    expect(execution.status).toBe('SUCCESS');
    expect(task(execution, 'two').status).toBe('SUCCESS');
  });

  it('cancel ends the execution CANCELED', async () => {
    const p = workflow('cancelme', 'tasks:\n  - id: long\n    tool: sleep\n    with: { ms: 3000 }\n');
    const engine = h.engine(p);
    const { execId } = await engine.start('cancelme', {});
    await until(async () => ((await h.store.getWorkflowExecution(execId))?.tasks.long ? true : undefined), 'task long');
    await engine.cancel(execId);
    const execution = await until(async () => {
      const e = await h.store.getWorkflowExecution(execId);
      return e?.status === 'CANCELED' ? e : undefined;
    }, 'CANCELED');
    expect(execution.error).toEqual({ code: 'CANCELED', message: 'the execution was canceled' });
    await expect(engine.signal(execId, 'x', {})).rejects.toMatchObject({ code: 'EXECUTION_NOT_RUNNING' });
  });

  it('a task still waiting when its execution is canceled ends CANCELED with it', async () => {
    const p = workflow('cancelwait', 'tasks:\n  - id: first\n    tool: echo\n    on_success: { next: hold }\n  - id: hold\n    type: wait\n    wait_for: never\n    condition: "true"\n');
    const engine = h.engine(p);
    const { execId } = await engine.start('cancelwait', {});
    await until(async () => ((await h.store.getWorkflowExecution(execId))?.tasks.hold?.status === 'RUNNING' ? true : undefined), 'hold waiting');
    await engine.cancel(execId);
    const execution = await until(async () => {
      const e = await h.store.getWorkflowExecution(execId);
      return e?.status === 'CANCELED' ? e : undefined;
    }, 'CANCELED');
    expect(task(execution, 'first').status).toBe('SUCCESS');
    expect(task(execution, 'hold')).toMatchObject({ status: 'CANCELED', error: { code: 'CANCELED', message: 'the execution was canceled' } });
  });

  it('refuses bad starts: unknown workflow, invalid input, unknown task_id', async () => {
    const p = workflow('strict', 'config:\n  input:\n    type: object\n    properties:\n      city: { type: string }\n    required: [city]\ntasks:\n  - id: t\n    tool: echo\n');
    const engine = h.engine(p);
    await expect(engine.start('nope', {})).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    await expect(engine.start('strict', { city: 5 })).rejects.toMatchObject({ code: 'INPUT_INVALID', details: { errors: [{ path: '/city', message: 'must be string' }] } });
    await expect(engine.start('strict', {})).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(engine.start('strict', { city: 'x' }, { startTaskId: 'zzz' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect((await h.store.listWorkflowExecutions({ workflowId: 'strict' })).items).toHaveLength(0);
  });
});
