import { createLogUpdate } from 'log-update';
import { isTerminal } from '../engine/progress.js';
import { plural } from '../platform/plural.js';
import type { Status } from '../store/store.js';
import { chalkFor, elapsed, executionHead, exitCodeForStatus, finalSummary, formatDuration, statusText, taskTreeLines, type ExecutionJson, type TaskStateJson } from './execution-view.js';
import { followExecution, type StreamEvent } from './follow.js';
import { writeJson } from './output.js';

interface AgentActivity {
  modelCalls: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
}

/** What the events of one execution have said so far: the execution, each task state and each agent task's steps, by task_exec_id. */
export class FollowState {
  execution: ExecutionJson | undefined;
  readonly tasks = new Map<string, TaskStateJson>();
  private readonly agents = new Map<string, AgentActivity>();

  apply(event: StreamEvent): void {
    const { data } = event;
    if (data.execution) this.execution = data.execution;
    if (data.task) this.tasks.set(data.task.task_exec_id, data.task);
    if (event.event.startsWith('agent.') && data.task_exec_id !== undefined) {
      const activity = this.agents.get(data.task_exec_id) ?? { modelCalls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0 };
      if (event.event === 'agent.model_call') {
        activity.modelCalls += 1;
        activity.inputTokens += data.usage?.input_tokens ?? 0;
        activity.outputTokens += data.usage?.output_tokens ?? 0;
      }
      if (event.event === 'agent.tool_call') activity.toolCalls += 1;
      this.agents.set(data.task_exec_id, activity);
    }
  }

  /** Per agent task, its model calls, tool calls and tokens so far: the live tree's note column. */
  agentNotes(): Map<string, string> {
    return new Map(
      [...this.agents].map(([id, a]) => [id, `${plural(a.modelCalls, 'model call')}${a.toolCalls > 0 ? `, ${plural(a.toolCalls, 'tool call')}` : ''}, ${a.inputTokens} in / ${a.outputTokens} out tokens`]),
    );
  }

  /** The path of the task an agent step belongs to (its task_id when that task's state has not been seen). */
  pathOf(taskExecId: string | undefined, taskId: string | undefined): string {
    const state = taskExecId === undefined ? undefined : this.tasks.get(taskExecId);
    return state ? this.path(state) : (taskId ?? '?');
  }

  /** A task's place in the tree: its ancestors' ids and its own, joined by "/". */
  path(task: TaskStateJson): string {
    const names = [task.task_id];
    const seen = new Set([task.task_exec_id]);
    for (let parent = task.parent_state_id; parent !== null; ) {
      const state = this.tasks.get(parent);
      if (!state || seen.has(parent)) break;
      seen.add(parent);
      names.unshift(state.task_id);
      parent = state.parent_state_id;
    }
    return names.join('/');
  }
}

/** The line of one event when the output is not a terminal: time (UTC), event, then what changed. */
export function eventLine(event: StreamEvent, state: FollowState, color: boolean): string {
  const chalk = chalkFor(color);
  const time = chalk.dim(event.data.at.slice(11, 23));
  const name = event.event.padEnd(18);
  const { task, execution } = event.data;
  if (task) {
    const error = (task.error as { message?: string } | null)?.message;
    const duration = task.status === 'RUNNING' || task.status === 'PENDING' ? '' : `  ${formatDuration(elapsed(task, Date.parse(event.data.at)))}`;
    return `${time}  ${name}  ${state.path(task)}  ${chalk.dim(task.execution_type)}  ${statusText(task.status, chalk)}${duration}${error ? `  ${chalk.red('✗')} ${error}` : ''}`;
  }
  if (execution) {
    const error = (execution.error as { message?: string } | null)?.message;
    return `${time}  ${name}  ${execution.workflow_id}  ${statusText(execution.status, chalk)}${event.event === 'execution.finished' ? `  ${formatDuration(elapsed(execution, Date.parse(event.data.at)))}` : ''}${error ? `  ${chalk.red('✗')} ${error}` : ''}`;
  }
  if (event.event.startsWith('agent.')) return `${time}  ${name}  ${state.pathOf(event.data.task_exec_id, event.data.task_id)}  ${agentStep(event, color)}`;
  return `${time}  ${name}`;
}

const SHORT = 80;
const short = (value: unknown) => {
  const text = JSON.stringify(value ?? null);
  return text.length > SHORT ? `${text.slice(0, SHORT - 1)}…` : text;
};

/** An agent step as a phrase: `tourist_guide step 1: stop, 12 in / 30 out tokens`, `… → weather_tool {"city":"Porto"}`, `… ← weather_tool {…}`. */
function agentStep(event: StreamEvent, color: boolean): string {
  const chalk = chalkFor(color);
  const { data } = event;
  const who = `${data.agent_id ?? '?'} step ${data.step ?? '?'}`;
  switch (event.event) {
    case 'agent.model_call':
      return `${who}: ${data.finish_reason ?? '?'}, ${data.usage?.input_tokens ?? 0} in / ${data.usage?.output_tokens ?? 0} out tokens`;
    case 'agent.tool_call':
      return `${who} → ${data.tool_id ?? '?'} ${short(data.input)}`;
    case 'agent.tool_result':
      return data.error ? `${who} ← ${data.tool_id ?? '?'} ${chalk.red('✗')} ${data.error.message}` : `${who} ← ${data.tool_id ?? '?'} ${short(data.output)}`;
    default:
      return who;
  }
}

/** The live view at a terminal: the execution's head line and its task tree with states and durations. */
export function liveView(state: FollowState, execId: string, now: number, color: boolean): string {
  const { execution } = state;
  const head = execution ? executionHead(execution, now, color) : `${execId} ${chalkFor(color).dim('waiting for its first event…')}`;
  // As in `executions get`: a task an ended execution left unfinished stopped counting at the end.
  const clock = execution && isTerminal(execution.status as Status) ? Date.parse(execution.updated_at) : now;
  return [head, 'Tasks:', ...taskTreeLines([...state.tasks.values()], clock, color, state.agentNotes())].join('\n');
}

export type FollowMode = 'live' | 'lines' | 'json';

const REDRAW_MS = 200;

/**
 * Follows an execution to its end and prints it in `mode`: `live` redraws the task tree in place (a
 * terminal), `lines` prints one line per event, `json` one JSON object per event ({id, event, data}).
 * After the end, live and lines print the final summary and output. Returns the exit code: 0 when it
 * ended SUCCESS, 1 otherwise.
 */
export async function followAndPrint(base: string, execId: string, mode: FollowMode, color: boolean): Promise<number> {
  const state = new FollowState();
  const out = process.stdout;
  const draw = mode === 'live' ? createLogUpdate(out) : undefined;
  const redraw = () => draw?.(liveView(state, execId, Date.now(), color));
  const timer = draw ? setInterval(redraw, REDRAW_MS) : undefined;
  const say = (line: string) => {
    draw?.clear();
    process.stderr.write(`${line}\n`);
    redraw();
  };
  const onDrop = (afterEventId: number, reason: string) => say(`• the event stream of ${execId} dropped (${reason}); reconnecting after event ${afterEventId}…`);
  const onResume = (afterEventId: number) => say(`• reconnected to the event stream of ${execId}, resuming after event ${afterEventId}`);
  let finished: ExecutionJson;
  try {
    redraw();
    finished = await followExecution(
      base,
      execId,
      (event) => {
        state.apply(event);
        if (mode === 'json') writeJson(event);
        else if (mode === 'lines') out.write(`${eventLine(event, state, color)}\n`);
        else redraw();
      },
      { onDrop, onResume },
    );
  } finally {
    clearInterval(timer);
    if (draw) {
      redraw();
      draw.done();
    }
  }
  if (mode !== 'json') out.write(`${finalSummary(finished, color)}\n`);
  return exitCodeForStatus(finished.status);
}
