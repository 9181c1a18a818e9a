import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { eventLine, FollowState, liveView } from '../../src/cli/follow-view.js';
import { followExecution, type StreamEvent } from '../../src/cli/follow.js';

const EXEC = '3N1ONzAUSU4gYKosdYy6uILIAla';
const at = (ms: number) => new Date(Date.parse('2026-12-04T10:00:00.000Z') + ms).toISOString();

function execution(status: string, ms: number) {
  return { workflow_exec_id: EXEC, workflow_id: 'wf', status, input: {}, output: status === 'SUCCESS' ? { ok: true } : null, error: null, usage: null, created_at: at(0), updated_at: at(ms) };
}

function task(id: string, status: string, start: number, end: number, parent: string | null = null) {
  return { task_exec_id: `t-${id}`, task_id: id, component: 'task', status, execution_type: 'basic', parent_state_id: parent, agent_id: null, action_id: null, tool_id: null, workflow_id: 'wf', workflow_exec_id: EXEC, input: null, output: null, error: status === 'FAILED' ? { code: 'TASK_FAILED', message: 'boom' } : null, usage: null, created_at: at(start), updated_at: at(end) };
}

/** The events of one short execution, as the stream route numbers them. */
const EVENTS: Array<{ event: string; data: Record<string, unknown> }> = [
  { event: 'execution.status', data: { exec_id: EXEC, workflow_id: 'wf', at: at(0), execution: execution('RUNNING', 0) } },
  { event: 'task.started', data: { exec_id: EXEC, workflow_id: 'wf', at: at(10), task: task('parent', 'RUNNING', 10, 10) } },
  { event: 'task.started', data: { exec_id: EXEC, workflow_id: 'wf', at: at(20), task: task('child', 'RUNNING', 20, 20, 't-parent') } },
  { event: 'task.failed', data: { exec_id: EXEC, workflow_id: 'wf', at: at(320), task: task('child', 'FAILED', 20, 320, 't-parent') } },
  { event: 'task.succeeded', data: { exec_id: EXEC, workflow_id: 'wf', at: at(400), task: task('parent', 'SUCCESS', 10, 400) } },
  { event: 'execution.finished', data: { exec_id: EXEC, workflow_id: 'wf', at: at(500), execution: execution('SUCCESS', 500) } },
];

const frame = (id: number) => `id: ${id}\nevent: ${EVENTS[id - 1]?.event}\ndata: ${JSON.stringify(EVENTS[id - 1]?.data)}\n\n`;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  server = undefined;
});

/** An SSE server whose `handle` decides, per connection, what to send (the connection's Last-Event-ID given). */
async function sse(handle: (res: ServerResponse, lastId: number, request: IncomingMessage, connection: number) => void): Promise<{ base: string; lastIds: number[] }> {
  const lastIds: number[] = [];
  server = createServer((request, res) => {
    const lastId = Number(request.headers['last-event-id'] ?? 0);
    lastIds.push(lastId);
    if (!request.url?.startsWith(`/api/v0/executions/workflows/${EXEC}/stream`)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 404, error: { code: 'EXECUTION_NOT_FOUND', message: 'no such execution', details: {} } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    handle(res, lastId, request, lastIds.length);
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return { base: `http://127.0.0.1:${(server?.address() as AddressInfo).port}`, lastIds };
}

describe('followExecution', () => {
  it('hands every event over once, in order, across a dropped connection, resuming with Last-Event-ID', async () => {
    const { base, lastIds } = await sse((res, lastId, _request, connection) => {
      // The first connection sends 3 events and breaks; the second replays one already seen (3) and goes on.
      if (connection === 1) {
        res.write(frame(1) + frame(2) + frame(3));
        setTimeout(() => res.destroy(), 50);
      } else res.end([3, 4, 5, 6].filter((id) => id >= lastId).map(frame).join(''));
    });
    const seen: StreamEvent[] = [];
    const drops: Array<[number, string]> = [];
    const resumes: number[] = [];
    const finished = await followExecution(base, EXEC, (event) => seen.push(event), { onDrop: (id, reason) => drops.push([id, reason]), onResume: (id) => resumes.push(id) });
    expect(seen.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.map((e) => e.event)).toEqual(EVENTS.map((e) => e.event));
    expect(finished.status).toBe('SUCCESS');
    expect(lastIds).toEqual([0, 3]);
    expect(drops).toHaveLength(1);
    expect(drops[0]?.[0]).toBe(3);
    expect(resumes).toEqual([3]);
  });

  it('takes a connection silent for three heartbeats as lost, and reconnects', async () => {
    const { base, lastIds } = await sse((res, lastId, request, connection) => {
      expect(request.url).toContain('heartbeat_ms=100');
      if (connection === 1) res.write(frame(1));
      else res.end([2, 3, 4, 5, 6].filter((id) => id > lastId).map(frame).join(''));
    });
    const drops: string[] = [];
    const finished = await followExecution(base, EXEC, () => undefined, { heartbeatMs: 100, onDrop: (_id, reason) => drops.push(reason) });
    expect(finished.status).toBe('SUCCESS');
    expect(lastIds).toEqual([0, 1]);
    expect(drops).toEqual(['no data for 0.3 s']);
  });

  it('gives up with NOT_RUNNING when the API stays away, and says so at once when it never answered', async () => {
    const { base } = await sse((res, _lastId, _request, connection) => {
      res.write(frame(1));
      if (connection === 1) setTimeout(() => server?.close() && server.closeAllConnections(), 20);
    });
    const error = await followExecution(base, EXEC, () => undefined, { reconnectForMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompozyError);
    expect(error).toMatchObject({ code: 'NOT_RUNNING', message: expect.stringContaining(`Lost the event stream of execution ${EXEC}`) });
    const never = await followExecution(base, EXEC, () => undefined).catch((e: unknown) => e);
    expect(never).toMatchObject({ code: 'NOT_RUNNING', message: expect.stringContaining(`The compozy API at ${base} does not answer`) });
  });

  it('turns an error answer into the API\'s own error', async () => {
    const { base } = await sse(() => undefined);
    const error = await followExecution(base, '3N1ONzAUSU4gYKosdYy6uILIAlb', () => undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXECUTION_NOT_FOUND', message: 'no such execution' });
  });
});

describe('the follow views', () => {
  const state = new FollowState();
  const events = EVENTS.map((e, i) => ({ id: i + 1, ...e }) as StreamEvent);
  const lines = events.map((event) => {
    state.apply(event);
    return eventLine(event, state, false);
  });

  it('prints one line per event: time, event, the task\'s path in the tree, its type, state, duration and error', () => {
    expect(lines).toEqual([
      '10:00:00.000  execution.status    wf  RUNNING',
      '10:00:00.010  task.started        parent  basic  RUNNING',
      '10:00:00.020  task.started        parent/child  basic  RUNNING',
      '10:00:00.320  task.failed         parent/child  basic  FAILED  300ms  ✗ boom',
      '10:00:00.400  task.succeeded      parent  basic  SUCCESS  390ms',
      '10:00:00.500  execution.finished  wf  SUCCESS  500ms',
    ]);
  });

  it('prints an agent\'s steps under its task, and counts them on the task\'s row of the live tree', () => {
    const agent = new FollowState();
    const base = { exec_id: EXEC, workflow_id: 'wf', task_exec_id: 't-ask', task_id: 'ask', agent_id: 'guide' };
    const steps: StreamEvent[] = [
      { id: 1, event: 'task.started', data: { exec_id: EXEC, workflow_id: 'wf', at: at(0), task: task('ask', 'RUNNING', 0, 0) } },
      { id: 2, event: 'agent.model_call', data: { ...base, at: at(100), step: 1, text: '', finish_reason: 'tool-calls', usage: { input_tokens: 12, output_tokens: 30 } } },
      { id: 3, event: 'agent.tool_call', data: { ...base, at: at(101), step: 1, tool_call_id: 'c1', tool_id: 'weather_tool', input: { city: 'Porto' } } },
      { id: 4, event: 'agent.tool_result', data: { ...base, at: at(150), step: 1, tool_call_id: 'c1', tool_id: 'weather_tool', output: { weather: 'Clear sky' }, error: null } },
      { id: 5, event: 'agent.tool_result', data: { ...base, at: at(151), step: 1, tool_call_id: 'c2', tool_id: 'other', output: null, error: { message: 'down' } } },
      { id: 6, event: 'agent.model_call', data: { ...base, at: at(200), step: 2, text: 'done', finish_reason: 'stop', usage: { input_tokens: 50, output_tokens: 5 } } },
    ];
    const printed = steps.map((event) => {
      agent.apply(event);
      return eventLine(event, agent, false);
    });
    expect(printed.slice(1)).toEqual([
      '10:00:00.100  agent.model_call    ask  guide step 1: tool-calls, 12 in / 30 out tokens',
      '10:00:00.101  agent.tool_call     ask  guide step 1 → weather_tool {"city":"Porto"}',
      '10:00:00.150  agent.tool_result   ask  guide step 1 ← weather_tool {"weather":"Clear sky"}',
      '10:00:00.151  agent.tool_result   ask  guide step 1 ← other ✗ down',
      '10:00:00.200  agent.model_call    ask  guide step 2: stop, 50 in / 5 out tokens',
    ]);
    expect(liveView(agent, EXEC, Date.parse(at(300)), false).split('\n').at(-1)).toBe('  ask  basic  RUNNING  300ms  2 model calls, 1 tool call, 62 in / 35 out tokens');
  });

  it('draws the live tree with each task\'s state and duration', () => {
    expect(liveView(state, EXEC, Date.parse(at(10_000)), false)).toBe(
      [`wf ${EXEC} SUCCESS (500ms, started ${at(0)})`, 'Tasks:', '  parent   basic  SUCCESS  390ms', '    child  basic  FAILED   300ms', '      ✗ boom'].join('\n'),
    );
    expect(liveView(new FollowState(), EXEC, 0, false)).toBe(`${EXEC} waiting for its first event…\nTasks:\n  (no task has started)`);
  });
});
