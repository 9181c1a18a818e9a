import { useState } from 'preact/hooks';
import { api, type TaskState, type Workflow } from '../api';
import { ErrorBox, Json, LiveBadge, Loaded, StatusBadge, useLoad } from '../components';
import { useLiveExecution, useLiveExecutions, useNow, type AgentStep, type LiveExecution } from '../live';
import { href } from '../router';
import { durationMs, formatDuration, isTerminal, retriesLabel, taskTree } from '../tree';

const STATUSES = ['PENDING', 'RUNNING', 'WAITING', 'PAUSED', 'SUCCESS', 'FAILED', 'TIMED_OUT', 'CANCELED'];

export function ExecutionsPage({ workflow, status }: { workflow?: string; status?: string }) {
  const page = useLiveExecutions({ workflow, status });
  const now = useNow((page.value ?? []).some((e) => !isTerminal(e.status)));
  const filter = (next: { workflow?: string | undefined; status?: string | undefined }) => {
    const params = new URLSearchParams();
    const w = 'workflow' in next ? next.workflow : workflow;
    const s = 'status' in next ? next.status : status;
    if (w) params.set('workflow', w);
    if (s) params.set('status', s);
    location.hash = `${href('executions')}${params.size > 0 ? `?${params}` : ''}`;
  };
  return (
    <section>
      <header class="page-head">
        <h1>Executions</h1>
        <LiveBadge state={page.stream} />
      </header>
      <div class="filters">
        <label>
          Workflow <input value={workflow ?? ''} placeholder="any" onChange={(e) => filter({ workflow: (e.target as HTMLInputElement).value || undefined })} />
        </label>
        <label>
          Status{' '}
          <select value={status ?? ''} onChange={(e) => filter({ status: (e.target as HTMLSelectElement).value || undefined })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <Loaded state={{ ...page, loading: page.value === undefined }}>
        {(executions) =>
          executions.length === 0 ? (
            <p class="muted">No executions{workflow || status ? ' match' : ' yet'}.</p>
          ) : (
            <table class="grid" data-testid="execution-list">
              <thead>
                <tr>
                  <th>Execution</th>
                  <th>Workflow</th>
                  <th>Status</th>
                  <th>Started</th>
                  <th>Duration</th>
                </tr>
              </thead>
              <tbody>
                {executions.map((e) => (
                  <tr key={e.workflow_exec_id} data-exec={e.workflow_exec_id}>
                    <td>
                      <a href={href('executions', e.workflow_exec_id)}>
                        <code>{e.workflow_exec_id}</code>
                      </a>
                    </td>
                    <td>{e.workflow_id}</td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td>{new Date(e.created_at).toLocaleString()}</td>
                    <td>{formatDuration(durationMs(e, now))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}

function Timeline({ state, start, span, now }: { state: TaskState; start: number; span: number; now: number }) {
  const left = ((Date.parse(state.created_at) - start) / span) * 100;
  const width = Math.max(0.5, (durationMs(state, now) / span) * 100);
  return (
    <div class="timeline">
      <div class={`bar status-${state.status.toLowerCase()}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
    </div>
  );
}

/** An agent task's conversation as its stream told it: each model call, each tool call and its result. */
export function Conversation({ steps }: { steps: AgentStep[] }) {
  return (
    <ol class="messages steps" data-testid="agent-steps">
      {steps.map((step, i) => (
        <li key={i} class={`message step-${step.event.slice('agent.'.length)}`} data-event={step.event}>
          {step.event === 'agent.model_call' ? (
            <>
              <strong>
                step {step.step} · model · {step.finish_reason ?? ''}
                {step.usage ? ` · ${step.usage.input_tokens ?? 0} in / ${step.usage.output_tokens ?? 0} out tokens` : ''}
              </strong>
              <div>{step.text ?? ''}</div>
            </>
          ) : step.event === 'agent.tool_call' ? (
            <>
              <strong>
                step {step.step} · calls {step.tool_id}
              </strong>
              <Json value={step.input} label="tool call input" />
            </>
          ) : (
            <>
              <strong>
                step {step.step} · {step.tool_id} {step.error ? 'failed' : 'answered'}
              </strong>
              <Json value={step.error ?? step.output} label="tool result" />
            </>
          )}
        </li>
      ))}
    </ol>
  );
}

/** A task row's retries, when it had any and the count is known. */
function Retries({ attempts }: { attempts: number | undefined }) {
  if (attempts === undefined || attempts < 2) return null;
  return (
    <span class="badge retries" data-retries={attempts - 1} title={`attempt ${attempts}`}>
      {retriesLabel(attempts)}
    </span>
  );
}

function TaskDetail({ state, now, steps, attempts }: { state: TaskState; now: number; steps: AgentStep[]; attempts: number | undefined }) {
  return (
    <div class="panel" data-testid="task-detail">
      <h3>
        {state.task_id} <StatusBadge status={state.status} />
      </h3>
      <dl class="facts">
        <dt>Task exec id</dt>
        <dd>
          <code>{state.task_exec_id}</code>
        </dd>
        <dt>Type</dt>
        <dd>{state.execution_type}</dd>
        {state.agent_id ? (
          <>
            <dt>Agent</dt>
            <dd>
              {state.agent_id}
              {state.action_id ? ` · ${state.action_id}` : ''}
            </dd>
          </>
        ) : null}
        {state.tool_id ? (
          <>
            <dt>Tool</dt>
            <dd>{state.tool_id}</dd>
          </>
        ) : null}
        <dt>Duration</dt>
        <dd>{formatDuration(durationMs(state, now))}</dd>
        {attempts !== undefined ? (
          <>
            <dt>Attempts</dt>
            <dd data-testid="task-attempts">
              {attempts}
              {attempts > 1 ? ` (${retriesLabel(attempts)})` : ''}
            </dd>
          </>
        ) : null}
      </dl>
      <h4>Input</h4>
      <Json value={state.input} label="task input" />
      {steps.length > 0 ? (
        <>
          <h4>Conversation</h4>
          <Conversation steps={steps} />
        </>
      ) : null}
      <h4>Output</h4>
      <Json value={state.output} label="task output" />
      {state.error !== null ? (
        <>
          <h4>Error</h4>
          <Json value={state.error} label="task error" />
        </>
      ) : null}
      {state.usage !== null ? (
        <>
          <h4>Usage</h4>
          <Json value={state.usage} label="task usage" />
        </>
      ) : null}
    </div>
  );
}

function Controls({ execution, signals }: { execution: LiveExecution['execution']; signals: string[] }) {
  // The workflow (and so its wait tasks' signal names) may arrive after the execution.
  const [typed, setName] = useState<string | undefined>();
  const name = typed ?? signals[0] ?? '';
  const [payload, setPayload] = useState('{}');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: string } | { error: Error } | undefined>();
  const id = execution.workflow_exec_id;

  const act = async (what: string, call: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await call();
      setResult({ ok: what });
    } catch (error) {
      setResult({ error: error as Error });
    } finally {
      setBusy(false);
    }
  };

  const sendSignal = (event: Event) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      setResult({ error: new Error('The payload is not valid JSON.') });
      return;
    }
    void act(`signal ${name} sent`, () => api('POST', `/executions/workflows/${id}/signals`, { signal_name: name, payload: parsed }));
  };

  const ended = isTerminal(execution.status);
  return (
    <div class="panel controls">
      <h2>Steer</h2>
      <div class="actions">
        {(['pause', 'resume', 'cancel'] as const).map((action) => (
          <button key={action} class={action === 'cancel' ? 'danger' : ''} disabled={busy || ended} onClick={() => void act(`${action} requested`, () => api('POST', `/executions/workflows/${id}/${action}`))}>
            {action[0]?.toUpperCase()}
            {action.slice(1)}
          </button>
        ))}
      </div>
      <form onSubmit={sendSignal} class="signal-form">
        <label class="field">
          <span>Signal name</span>
          <input name="signal_name" list="signal-names" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <datalist id="signal-names">
            {signals.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label class="field">
          <span>Payload (JSON)</span>
          <textarea name="payload" rows={3} value={payload} onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)} />
        </label>
        <button type="submit" disabled={busy || ended || name === ''}>
          Send signal
        </button>
      </form>
      {result ? 'ok' in result ? <p class="ok" role="status">{result.ok}</p> : <ErrorBox error={result.error} /> : null}
    </div>
  );
}

export function ExecutionPage({ id }: { id: string }) {
  const live = useLiveExecution(id);
  const workflowId = live.value?.execution.workflow_id;
  const workflow = useLoad(() => (workflowId ? api<Workflow>('GET', `/workflows/${encodeURIComponent(workflowId)}`) : Promise.resolve(undefined)), [workflowId]);
  const [selected, setSelected] = useState<string | undefined>();
  const now = useNow(live.value !== undefined && !isTerminal(live.value.execution.status));
  const signals = (workflow.value?.tasks ?? []).flatMap((t) => (t.wait_for ? [t.wait_for] : []));

  return (
    <section>
      <p class="crumbs">
        <a href={href('executions')}>Executions</a> / <code>{id}</code>
      </p>
      <Loaded state={{ ...live, loading: live.value === undefined }}>
        {({ execution: e, tasks, steps, attempts }) => {
          // Known only from a stream that began at the execution's creation (not a replay of stored states).
          const attemptsOf = (taskExecId: string) => (attempts ? attempts[taskExecId] : undefined);
          const nodes = taskTree(tasks);
          const start = Date.parse(e.created_at);
          const span = Math.max(1, durationMs(e, now), ...nodes.map((n) => Date.parse(n.state.created_at) - start + durationMs(n.state, now)));
          const chosen = selected === undefined ? undefined : tasks[selected];
          return (
            <>
              <header class="page-head">
                <h1>
                  <a href={href('workflows', e.workflow_id)}>{e.workflow_id}</a> <StatusBadge status={e.status} />
                </h1>
                <LiveBadge state={live.stream} />
              </header>
              {live.streamError ? <ErrorBox error={live.streamError} /> : null}
              <p class="muted">
                Started {new Date(e.created_at).toLocaleString()} · {formatDuration(durationMs(e, now))}
              </p>
              <div class="columns">
                <div class="grow">
                  <h2>Tasks</h2>
                  <table class="grid tree" data-testid="task-tree">
                    <thead>
                      <tr>
                        <th>Task</th>
                        <th>Status</th>
                        <th>Duration</th>
                        <th class="wide">Timeline</th>
                      </tr>
                    </thead>
                    <tbody>
                      {nodes.map(({ state, depth }) => (
                        <tr
                          key={state.task_exec_id}
                          data-task={state.task_id}
                          data-status={state.status}
                          class={state.task_exec_id === selected ? 'selected' : ''}
                          onClick={() => setSelected(state.task_exec_id)}
                        >
                          <td style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
                            <button class="link" type="button">
                              {state.task_id}
                            </button>
                            <Retries attempts={attemptsOf(state.task_exec_id)} />
                          </td>
                          <td>
                            <StatusBadge status={state.status} />
                          </td>
                          <td>{formatDuration(durationMs(state, now))}</td>
                          <td class="wide">
                            <Timeline state={state} start={start} span={span} now={now} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {chosen ? <TaskDetail state={chosen} now={now} steps={steps[chosen.task_exec_id] ?? []} attempts={attemptsOf(chosen.task_exec_id)} /> : <p class="muted">Select a task to see its input, output and error.</p>}
                </div>
                <div class="side">
                  <Controls execution={e} signals={signals} />
                  <div class="panel">
                    <h2>Input</h2>
                    <Json value={e.input} label="execution input" />
                    <h2>Output</h2>
                    <Json value={e.output} label="execution output" />
                    {e.error !== null ? (
                      <>
                        <h2>Error</h2>
                        <Json value={e.error} label="execution error" />
                      </>
                    ) : null}
                  </div>
                </div>
              </div>
            </>
          );
        }}
      </Loaded>
      {workflow.error ? <ErrorBox error={workflow.error} /> : null}
    </section>
  );
}
