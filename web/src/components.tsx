import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import type { StreamState } from './sse';

/** An answer being loaded, the value, or why it failed; `reload` asks again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { value?: T; error?: Error; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ value?: T; error?: Error; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (value) => current && setState({ value, loading: false }),
      (error: unknown) => current && setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }: { error: Error }) {
  const details = error instanceof ApiError ? error.details : {};
  const hint = typeof details.hint === 'string' ? details.hint : undefined;
  const list = Array.isArray(details.errors) ? (details.errors as unknown[]) : [];
  return (
    <div class="error" role="alert">
      <strong>{error instanceof ApiError ? `${error.code}: ` : ''}</strong>
      {error.message}
      {hint ? <div class="hint">{hint}</div> : null}
      {list.length > 0 ? (
        <ul>
          {list.map((item, i) => (
            <li key={i}>{typeof item === 'string' ? item : JSON.stringify(item)}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Loaded<T>({ state, children }: { state: { value?: T; error?: Error; loading: boolean }; children: (value: T) => ComponentChildren }) {
  if (state.error) return <ErrorBox error={state.error} />;
  if (state.value === undefined) return <p class="muted">Loading…</p>;
  return <>{children(state.value)}</>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status.toLowerCase()}`} data-status={status}>{status}</span>;
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" aria-label={label}>
      {value === undefined ? 'undefined' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

const STREAM_LABELS: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
  failed: 'not live',
};

/** Whether what the page shows follows the server's stream right now. */
export function LiveBadge({ state }: { state: StreamState }) {
  return (
    <span class={`live live-${state}`} data-stream={state} title="updates from the server's event stream">
      {STREAM_LABELS[state]}
    </span>
  );
}
