import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorBox, Loaded, useLoad } from '../components';
import { href } from '../router';

interface Schedule {
  workflow_id: string;
  schedule_id: string;
  cron: string;
  timezone: string;
  enabled: boolean;
  is_override: boolean;
  next_run_time?: string;
  last_run_time?: string;
}

/** The project's workflow schedules (Temporal Schedules): pause or resume one, or fire it now. */
export function SchedulesPage() {
  const schedules = useLoad(() => api<{ schedules: Schedule[]; total: number }>('GET', '/schedules'), []);
  const [result, setResult] = useState<{ ok: string } | { error: Error } | undefined>();
  const act = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
      setResult({ ok: what });
      schedules.reload();
    } catch (error) {
      setResult({ error: error as Error });
    }
  };
  return (
    <section>
      <header class="page-head">
        <h1>Schedules</h1>
        <button onClick={schedules.reload} disabled={schedules.loading}>
          Refresh
        </button>
      </header>
      {result ? 'ok' in result ? <p class="ok" role="status">{result.ok}</p> : <ErrorBox error={result.error} /> : null}
      <Loaded state={schedules}>
        {({ schedules: list }) =>
          list.length === 0 ? (
            <p class="muted">No workflow of the project declares a schedule.</p>
          ) : (
            <table class="grid" data-testid="schedule-list">
              <thead>
                <tr>
                  <th>Workflow</th>
                  <th>Cron</th>
                  <th>Enabled</th>
                  <th>Next run</th>
                  <th>Last run</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((s) => {
                  const id = encodeURIComponent(s.workflow_id);
                  return (
                    <tr key={s.schedule_id} data-schedule={s.workflow_id} data-enabled={String(s.enabled)}>
                      <td>
                        <a href={href('workflows', s.workflow_id)}>{s.workflow_id}</a>
                      </td>
                      <td>
                        <code>{s.cron}</code> {s.timezone}
                        {s.is_override ? <small> (overridden)</small> : null}
                      </td>
                      <td>{s.enabled ? 'yes' : 'paused'}</td>
                      <td>{s.next_run_time ? new Date(s.next_run_time).toLocaleString() : '-'}</td>
                      <td>{s.last_run_time ? new Date(s.last_run_time).toLocaleString() : '-'}</td>
                      <td class="actions">
                        <button class="secondary" onClick={() => void act(`${s.workflow_id} ${s.enabled ? 'paused' : 'resumed'}`, () => api('PATCH', `/schedules/${id}`, { enabled: !s.enabled }))}>
                          {s.enabled ? 'Pause' : 'Resume'}
                        </button>
                        <button onClick={() => void act(`${s.workflow_id} triggered`, () => api('POST', `/schedules/${id}/trigger`))}>Run now</button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </section>
  );
}
