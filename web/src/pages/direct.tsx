import { useState } from 'preact/hooks';
import { api, runDirect, type Agent, type ApiError, type DirectState, type JsonSchema, type Tool } from '../api';
import { ErrorBox, Json, LiveBadge, Loaded, StatusBadge, useLoad } from '../components';
import { useLiveExecution } from '../live';
import { Conversation } from './executions';
import { href } from '../router';
import { SchemaForm } from '../schema-form';

type Outcome = { state?: DirectState; output?: unknown; error?: ApiError | Error };

function OutcomeView({ outcome }: { outcome: Outcome }) {
  return (
    <div class="panel" data-testid="direct-result">
      <h2>
        Result {outcome.state ? <StatusBadge status={outcome.state.status} /> : null}
      </h2>
      {outcome.error ? <ErrorBox error={outcome.error} /> : null}
      {outcome.output !== undefined ? <Json value={outcome.output} label="direct output" /> : null}
      {outcome.state ? (
        <>
          {outcome.state.usage !== null ? (
            <>
              <h4>Usage</h4>
              <Json value={outcome.state.usage} label="direct usage" />
            </>
          ) : null}
          <p>
            <a href={href('executions', outcome.state.exec_id)}>Execution {outcome.state.exec_id}</a>
          </p>
        </>
      ) : null}
    </div>
  );
}

/** Runs one agent, tool or task through its sync direct route; the answer, whatever its status, is shown. */
function useDirect(kind: 'tools', id: string) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const run = async (body: Record<string, unknown>) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      setOutcome(await runDirect(kind, id, body));
    } catch (error) {
      setOutcome({ error: error as Error });
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, run };
}

/** A direct agent execution followed live: its status, each step of its conversation as the stream brings it, then its output. */
function LiveAgentRun({ execId }: { execId: string }) {
  const live = useLiveExecution(execId);
  return (
    <div class="panel" data-testid="agent-run">
      <Loaded state={{ ...live, loading: live.value === undefined }}>
        {({ execution, tasks, steps }) => {
          // The agent's own task, as the direct routes answer it (its output, not the execution's wrapper).
          const task = Object.values(tasks).find((t) => t.parent_state_id === null);
          return (
          <>
            <header class="page-head">
              <h2>
                Run <StatusBadge status={execution.status} />
              </h2>
              <LiveBadge state={live.stream} />
            </header>
            <Conversation steps={Object.values(steps).flat()} />
            {execution.error !== null ? <Json value={execution.error} label="agent error" /> : null}
            {task && task.output !== null ? (
              <>
                <h4>Output</h4>
                <Json value={task.output} label="agent output" />
              </>
            ) : null}
            {task && task.usage !== null ? (
              <>
                <h4>Usage</h4>
                <Json value={task.usage} label="agent usage" />
              </>
            ) : null}
            <p>
              <a href={href('executions', execId)}>Execution {execId}</a>
            </p>
          </>
          );
        }}
      </Loaded>
    </div>
  );
}

export function AgentsPage() {
  const agents = useLoad(() => api<{ agents: Agent[] }>('GET', '/agents'), []);
  return (
    <section>
      <h1>Agents</h1>
      <Loaded state={agents}>
        {({ agents: list }) =>
          list.length === 0 ? (
            <p class="muted">The project has no agents.</p>
          ) : (
            <table class="grid" data-testid="agent-list">
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Model</th>
                  <th>Actions</th>
                  <th>Tools</th>
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <a href={href('agents', a.id)}>{a.id}</a>
                    </td>
                    <td>{a.model === null ? 'project default' : typeof a.model === 'string' ? a.model : JSON.stringify(a.model)}</td>
                    <td>{a.actions.map((x) => x.id).join(', ')}</td>
                    <td>{a.tools.join(', ')}</td>
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

export function AgentPage({ id }: { id: string }) {
  const agent = useLoad(() => api<Agent>('GET', `/agents/${encodeURIComponent(id)}`), [id]);
  const [mode, setMode] = useState<string>('');
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState<{ execId: string } | { error: Error } | undefined>();
  const start = async (body: Record<string, unknown>) => {
    setBusy(true);
    setRun(undefined);
    try {
      const started = await api<{ exec_id: string }>('POST', `/agents/${encodeURIComponent(id)}/executions`, body);
      setRun({ execId: started.exec_id });
    } catch (error) {
      setRun({ error: error as Error });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <p class="crumbs">
        <a href={href('agents')}>Agents</a> / {id}
      </p>
      <Loaded state={agent}>
        {(a) => {
          const chosen = mode === '' ? a.actions[0]?.id ?? 'prompt' : mode;
          const action = a.actions.find((x) => x.id === chosen);
          return (
            <>
              <h1>{a.id}</h1>
              {a.instructions ? <pre class="json">{a.instructions}</pre> : null}
              <div class="columns">
                <div class="panel">
                  <h2>Run</h2>
                  <label class="field">
                    <span>Action</span>
                    <select name="action" value={chosen} onChange={(e) => setMode((e.target as HTMLSelectElement).value)}>
                      {a.actions.map((x) => (
                        <option key={x.id} value={x.id}>
                          {x.id}
                        </option>
                      ))}
                      <option value="prompt">a prompt instead</option>
                    </select>
                  </label>
                  {action ? (
                    <>
                      <pre class="json">{action.prompt}</pre>
                      <SchemaForm key={action.id} schema={action.input} submitLabel="Run action" busy={busy} onSubmit={(input) => void start({ action: action.id, with: input })} />
                    </>
                  ) : (
                    <form
                      onSubmit={(event) => {
                        event.preventDefault();
                        void start({ prompt });
                      }}
                    >
                      <label class="field">
                        <span>Prompt</span>
                        <textarea name="prompt" rows={4} required value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
                      </label>
                      <button type="submit" disabled={busy || prompt.trim() === ''}>
                        Send prompt
                      </button>
                    </form>
                  )}
                </div>
                <div class="grow">{run ? 'execId' in run ? <LiveAgentRun key={run.execId} execId={run.execId} /> : <ErrorBox error={run.error} /> : null}</div>
              </div>
              <p class="muted">
                Tools: {a.tools.join(', ') || 'none'} · memory: {a.memory.map((m) => m.id).join(', ') || 'none'}
              </p>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

export function ToolsPage() {
  const tools = useLoad(() => api<{ tools: Tool[] }>('GET', '/tools'), []);
  return (
    <section>
      <h1>Tools</h1>
      <Loaded state={tools}>
        {({ tools: list }) =>
          list.length === 0 ? (
            <p class="muted">The project has no tools.</p>
          ) : (
            <table class="grid" data-testid="tool-list">
              <thead>
                <tr>
                  <th>Tool</th>
                  <th>Description</th>
                  <th>Timeout</th>
                </tr>
              </thead>
              <tbody>
                {list.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <a href={href('tools', t.id)}>{t.id}</a>
                    </td>
                    <td>{t.description ?? ''}</td>
                    <td>{t.timeout ?? '-'}</td>
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

export function ToolPage({ id }: { id: string }) {
  const tool = useLoad(() => api<Tool>('GET', `/tools/${encodeURIComponent(id)}`), [id]);
  const direct = useDirect('tools', id);
  return (
    <section>
      <p class="crumbs">
        <a href={href('tools')}>Tools</a> / {id}
      </p>
      <Loaded state={tool}>
        {(t) => (
          <>
            <h1>{t.id}</h1>
            {t.description ? <p>{t.description}</p> : null}
            <div class="columns">
              <div class="panel">
                <h2>Run</h2>
                <SchemaForm schema={t.input as JsonSchema | null} submitLabel="Run tool" busy={direct.busy} onSubmit={(input) => void direct.run({ with: input })} />
              </div>
              <div class="grow">{direct.outcome ? <OutcomeView outcome={direct.outcome} /> : direct.busy ? <p class="muted">Running…</p> : null}</div>
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}
