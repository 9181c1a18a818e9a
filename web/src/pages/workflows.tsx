import { useState } from 'preact/hooks';
import { api, ApiError, type Workflow } from '../api';
import { ErrorBox, Json, Loaded, useLoad } from '../components';
import { WorkflowGraph } from '../graph';
import { href, navigate } from '../router';
import { SchemaForm } from '../schema-form';

export function WorkflowsPage() {
  const workflows = useLoad(() => api<{ workflows: Workflow[] }>('GET', '/workflows'), []);
  return (
    <section>
      <h1>Workflows</h1>
      <Loaded state={workflows}>
        {({ workflows: list }) =>
          list.length === 0 ? (
            <p class="muted">The project has no workflows.</p>
          ) : (
            <table class="grid" data-testid="workflow-list">
              <thead>
                <tr>
                  <th>Workflow</th>
                  <th>Version</th>
                  <th>Tasks</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {list.map((w) => (
                  <tr key={w.id}>
                    <td>
                      <a href={href('workflows', w.id)}>{w.id}</a>
                    </td>
                    <td>{w.version ?? '-'}</td>
                    <td>{w.tasks.length}</td>
                    <td>{w.description ?? ''}</td>
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


export function WorkflowPage({ id }: { id: string }) {
  const workflow = useLoad(() => api<Workflow>('GET', `/workflows/${encodeURIComponent(id)}`), [id]);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Error | undefined>();

  const run = async (input: unknown) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const started = await api<{ exec_id: string }>('POST', `/workflows/${encodeURIComponent(id)}/executions`, { input });
      navigate('executions', started.exec_id);
    } catch (error) {
      setFailure(error instanceof Error ? error : new ApiError(0, 'ERROR', String(error), {}));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p class="crumbs">
        <a href={href('workflows')}>Workflows</a> / {id}
      </p>
      <Loaded state={workflow}>
        {(w) => (
          <>
            <h1>
              {w.id} {w.version ? <small>v{w.version}</small> : null}
            </h1>
            {w.description ? <p>{w.description}</p> : null}
            <div class="columns">
              <div class="panel">
                <h2>Run</h2>
                <SchemaForm schema={w.input} submitLabel="Run workflow" onSubmit={(input) => void run(input)} busy={busy} />
                {failure ? <ErrorBox error={failure} /> : null}
                <p>
                  <a href={`${href('executions')}?workflow=${encodeURIComponent(w.id)}`}>Executions of {w.id}</a>
                </p>
              </div>
              <div class="panel grow">
                <h2>Graph</h2>
                <div class="graph-scroll">
                  <WorkflowGraph tasks={w.tasks} />
                </div>
              </div>
            </div>
            <h2>Tasks and transitions</h2>
            <table class="grid" data-testid="task-list">
              <thead>
                <tr>
                  <th>Task</th>
                  <th>Type</th>
                  <th>On success</th>
                  <th>On error</th>
                  <th>Routes / wait</th>
                  <th>Children</th>
                </tr>
              </thead>
              <tbody>
                {w.tasks.map((t) => (
                  <tr key={t.id} data-task={t.id}>
                    <td>{t.id}</td>
                    <td>{t.type}</td>
                    <td>{t.on_success ?? 'ends the workflow'}</td>
                    <td>{t.on_error ?? 'fails the workflow'}</td>
                    <td>
                      {t.routes
                        ? Object.entries(t.routes)
                            .map(([key, to]) => `${key} → ${to}`)
                            .join(', ')
                        : t.wait_for
                          ? `waits for "${t.wait_for}"${t.on_timeout ? `, timeout → ${t.on_timeout}` : ''}`
                          : ''}
                    </td>
                    <td>{t.children.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {w.input ? (
              <details>
                <summary>Input schema</summary>
                <Json value={w.input} />
              </details>
            ) : null}
          </>
        )}
      </Loaded>
    </section>
  );
}
