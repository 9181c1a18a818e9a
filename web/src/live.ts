import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError, type Execution, type ExecutionWithTasks, type TaskState } from './api';
import { openStream, type StreamState } from './sse';
import { countAttempts, type Attempts } from './tree';

/** One agent step event: agent.model_call (text, finish_reason, usage), agent.tool_call (tool_id, input), agent.tool_result (output, error). */
export interface AgentStep {
  event: 'agent.model_call' | 'agent.tool_call' | 'agent.tool_result';
  task_exec_id: string;
  step: number;
  text?: string;
  finish_reason?: string;
  usage?: { input_tokens?: number; output_tokens?: number };
  tool_call_id?: string;
  tool_id?: string;
  input?: unknown;
  output?: unknown;
  error?: { message: string } | null;
}

/** An execution, its task states keyed by task_exec_id (children of different parents may share a task id), and its agent tasks' steps in order. */
export interface LiveExecution {
  execution: Execution;
  tasks: Record<string, TaskState>;
  steps: Record<string, AgentStep[]>;
  /** Attempts per task_exec_id from the stream's task.started events (kept across reconnects); null: not knowable. */
  attempts?: Attempts;
}

/** A newer write wins: the snapshot and the replayed stream overlap, and replayed events are older. */
function newer<T extends { updated_at: string }>(current: T | undefined, next: T): boolean {
  return current === undefined || next.updated_at >= current.updated_at;
}

function fromSnapshot({ tasks, ...execution }: ExecutionWithTasks): LiveExecution {
  return { execution, tasks: Object.fromEntries(Object.values(tasks).map((t) => [t.task_exec_id, t])), steps: {} };
}

/**
 * One execution, read once and then kept up to date by its SSE stream
 * (GET /executions/workflows/:exec_id/stream), which replays from the first event, resumes after
 * Last-Event-ID when the connection drops, and closes after execution.finished.
 */
export function useLiveExecution(id: string): { value?: LiveExecution; error?: Error; stream: StreamState; streamError?: ApiError } {
  const [value, setValue] = useState<LiveExecution | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [stream, setStream] = useState<{ state: StreamState; error?: ApiError }>({ state: 'connecting' });
  useEffect(() => {
    setValue(undefined);
    setError(undefined);
    let close: (() => void) | undefined;
    let current = true;
    api<ExecutionWithTasks>('GET', `/executions/workflows/${encodeURIComponent(id)}`).then(
      (snapshot) => {
        if (!current) return;
        setValue(fromSnapshot(snapshot));
        close = openStream(`/executions/workflows/${encodeURIComponent(id)}/stream`, {
          resume: true,
          last: 'execution.finished',
          onState: (state, streamError) => setStream({ state, ...(streamError ? { error: streamError } : {}) }),
          onEvent: (message) =>
            setValue((previous) => {
              if (!previous) return previous;
              const { event, data } = message;
              const counted = { ...previous, attempts: countAttempts(previous.attempts, message) };
              if (event.startsWith('agent.')) {
                // Agent steps are only in the stream (the snapshot has none); each arrives once, in order.
                const step = { ...data, event } as unknown as AgentStep;
                return { ...counted, steps: { ...counted.steps, [step.task_exec_id]: [...(counted.steps[step.task_exec_id] ?? []), step] } };
              }
              if (event.startsWith('execution.')) {
                const execution = data.execution as Execution;
                return newer(counted.execution, execution) ? { ...counted, execution } : counted;
              }
              const task = data.task as TaskState;
              return newer(counted.tasks[task.task_exec_id], task) ? { ...counted, tasks: { ...counted.tasks, [task.task_exec_id]: task } } : counted;
            }),
        });
      },
      (failure: unknown) => current && setError(failure as Error),
    );
    return () => {
      current = false;
      close?.();
    };
  }, [id]);
  return { ...(value ? { value } : {}), ...(error ? { error } : {}), stream: stream.state, ...(stream.error ? { streamError: stream.error } : {}) };
}

/**
 * A page of executions, newest first, kept up to date by GET /events/stream (status changes of every
 * execution, or one workflow's). Those events carry no ids: the page is read each time the stream opens.
 * The status filter is applied here, so an execution that leaves the status leaves the list.
 */
export function useLiveExecutions(filters: { workflow?: string | undefined; status?: string | undefined }): { value?: Execution[]; error?: Error; stream: StreamState } {
  const [value, setValue] = useState<Execution[] | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [stream, setStream] = useState<StreamState>('connecting');
  const { workflow, status } = filters;
  useEffect(() => {
    let current = true;
    const query = new URLSearchParams({ limit: '100', ...(workflow ? { workflow_id: workflow } : {}), ...(status ? { status } : {}) });
    // Events that arrive before the page is read are applied on top of it once it is.
    let early: Execution[] | undefined = [];
    const apply = (list: Execution[], execution: Execution): Execution[] => {
      const old = list.find((e) => e.workflow_exec_id === execution.workflow_exec_id);
      const rest = list.filter((e) => e.workflow_exec_id !== execution.workflow_exec_id);
      if (status && execution.status !== status) return rest;
      if (old && !newer(old, execution)) return list;
      return [...rest, execution].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.workflow_exec_id.localeCompare(a.workflow_exec_id));
    };
    const read = () => {
      early = early ?? [];
      return api<{ executions: Execution[] }>('GET', `/executions/workflows?${query}`).then(
        (page) => {
          if (!current) return;
          setValue((early ?? []).reduce(apply, page.executions));
          early = undefined;
        },
        (failure: unknown) => current && setError(failure as Error),
      );
    };
    setValue(undefined);
    setError(undefined);
    const close = openStream(`/events/stream${workflow ? `?${new URLSearchParams({ workflow })}` : ''}`, {
      resume: false,
      // Read once the stream is open (and again after each reconnect), so no change falls between the two.
      onState: (state) => {
        setStream(state);
        if (state === 'live' || state === 'failed') void read();
      },
      onEvent: ({ data }) => {
        const execution = data.execution as Execution;
        if (early) early.push(execution);
        else setValue((previous) => (previous ? apply(previous, execution) : previous));
      },
    });
    return () => {
      current = false;
      close();
    };
  }, [workflow, status]);
  return { ...(value ? { value } : {}), ...(error ? { error } : {}), stream };
}

/** The clock while something runs, so running durations move between events (no request is made). */
export function useNow(running: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return running ? now : Date.now();
}
