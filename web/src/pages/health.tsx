import { api, type ComponentHealth, type HealthData } from '../api';
import { Loaded, StatusBadge, useLoad } from '../components';

/** The columns of the `compozy dev` health table (src/supervisor/health-table.ts), cell for cell. */
function cells(component: ComponentHealth): string[] {
  const restarts =
    component.restarts === undefined ? '-' : String(component.restarts) + (component.lastExitCode !== undefined && component.lastExitCode !== null && component.restarts > 0 ? ` (last exit ${component.lastExitCode})` : '');
  return [component.address ?? component.path ?? '-', component.pid === undefined ? '-' : String(component.pid), restarts, component.detail ?? ''];
}

export function HealthPage() {
  // 503 carries the full report too: a component that is not up is what this page is for.
  const health = useLoad(() => api<HealthData>('GET', '/health', undefined, [503]), []);
  return (
    <section>
      <header class="page-head">
        <h1>Health</h1>
        <button onClick={health.reload} disabled={health.loading}>
          Refresh
        </button>
      </header>
      <Loaded state={health}>
        {(report) => (
          <>
            <p>
              <strong>{report.project}</strong> · mode {report.mode} · <StatusBadge status={report.status} />
            </p>
            {report.components ? (
              <table class="grid" data-testid="health-table">
                <thead>
                  <tr>
                    <th>Component</th>
                    <th>Backend</th>
                    <th>State</th>
                    <th>Address / file</th>
                    <th>PID</th>
                    <th>Restarts</th>
                    <th>Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {report.components.map((component) => (
                    <tr key={component.name} data-component={component.name}>
                      <td>{component.name}</td>
                      <td>{component.backend}</td>
                      <td>
                        <StatusBadge status={component.state} />
                      </td>
                      {cells(component).map((cell, i) => (
                        <td key={i}>{cell}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p class="muted">The server requires an API key for the components: enter one above.</p>
            )}
            {report.queue ? (
              <p class="muted" data-testid="queue">
                Queue: {report.queue.pending} pending, {report.queue.running} running, {report.queue.paused} paused, limit {report.queue.limit ?? 'none'}; {report.queue.admitted} admitted, {report.queue.rejected} rejected
              </p>
            ) : null}
          </>
        )}
      </Loaded>
    </section>
  );
}
