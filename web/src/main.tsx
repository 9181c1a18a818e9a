import { render } from 'preact';
import { useState } from 'preact/hooks';
import { apiKey, setApiKey } from './api';
import { AgentPage, AgentsPage, ToolPage, ToolsPage } from './pages/direct';
import { ExecutionPage, ExecutionsPage } from './pages/executions';
import { HealthPage } from './pages/health';
import { MemoriesPage, MemoryPageView } from './pages/memory';
import { SchedulesPage } from './pages/schedules';
import { WorkflowPage, WorkflowsPage } from './pages/workflows';
import { href, useRoute, type Route } from './router';
import './style.css';

const NAV = [
  ['health', 'Health'],
  ['workflows', 'Workflows'],
  ['executions', 'Executions'],
  ['agents', 'Agents'],
  ['tools', 'Tools'],
  ['memory', 'Memory'],
  ['schedules', 'Schedules'],
] as const;

function Page({ route }: { route: Route }) {
  const [section = 'health', id, sub] = route.parts;
  switch (section) {
    case 'health':
      return <HealthPage />;
    case 'workflows':
      return id ? <WorkflowPage id={id} /> : <WorkflowsPage />;
    case 'executions':
      return id ? <ExecutionPage id={id} /> : <ExecutionsPage workflow={route.query.get('workflow') ?? undefined} status={route.query.get('status') ?? undefined} />;
    case 'agents':
      return id ? <AgentPage id={id} /> : <AgentsPage />;
    case 'tools':
      return id ? <ToolPage id={id} /> : <ToolsPage />;
    case 'memory':
      return id ? <MemoryPageView id={id} {...(sub ? { conversation: sub } : {})} /> : <MemoriesPage />;
    case 'schedules':
      return <SchedulesPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page <code>{route.parts.join('/')}</code>. <a href={href('health')}>Health</a>
          </p>
        </section>
      );
  }
}

/** Only needed when the server requires API keys (it listens beyond loopback, or auth.enabled). */
function KeyBar() {
  const [key, setKey] = useState(apiKey() ?? '');
  return (
    <form
      class="keybar"
      onSubmit={(event) => {
        event.preventDefault();
        setApiKey(key.trim());
        location.reload();
      }}
    >
      <input type="password" placeholder="API key (when required)" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} aria-label="API key" />
      <button type="submit" class="secondary">
        Use key
      </button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const section = route.parts[0] ?? 'health';
  return (
    <>
      <nav class="top">
        <span class="brand">compozy</span>
        {NAV.map(([id, label]) => (
          <a key={id} href={href(id)} class={section === id ? 'active' : ''}>
            {label}
          </a>
        ))}
        <a href="/docs" target="_blank" rel="noopener">
          OpenAPI explorer
        </a>
        <KeyBar />
      </nav>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
