import type { ExecutionEvent } from '../engine/observer.js';
import { plural } from '../platform/plural.js';

/** What `compozy serve`, `start` and `worker` report: JSON Lines with --json, one human line each otherwise. */
export type ProcessEvent =
  | ExecutionEvent
  | { event: 'listening'; url: string; host: string; port: number; requestedPort: number; pid: number }
  | { event: 'log'; message: string }
  /** The project was reloaded after `files` changed (watch mode). */
  | { event: 'reload'; files: string[]; durationMs: number; workflows: number; tools: number; agents: number; /** Settings read at start-up that changed: applied only by a restart. */ unapplied: string[] }
  /** A change left the project invalid (or the new version did not start): the previous version keeps running. */
  | { event: 'reload-failed'; files: string[]; message: string; diagnostics: { file: string; line: number; col: number; message: string }[] }
  | { event: 'exit'; code: number; reason: string };

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The human line of an event. */
export function describeEvent(event: ProcessEvent): string {
  switch (event.event) {
    case 'execution-started':
      return `▶ ${event.workflow} ${event.execId} started`;
    case 'execution-finished': {
      const mark = event.status === 'SUCCESS' ? '✔' : '✗';
      return `${mark} ${event.workflow} ${event.execId} ${event.status} in ${formatDuration(event.durationMs)}${event.error ? ` (${event.error.code}: ${event.error.message})` : ''}`;
    }
    case 'task-failed':
      return `  ✗ task ${event.taskId} of ${event.workflow} ${event.execId}: ${event.code}: ${event.message} (attempt ${event.attempt}/${event.maxAttempts}${event.retrying ? ', retrying' : ''})`;
    case 'listening':
      return `api listening on ${event.url}${event.requestedPort !== 0 && event.port !== event.requestedPort ? ` (port ${event.requestedPort} was in use)` : ''}`;
    case 'log':
      return event.message;
    case 'reload':
      return `↻ reloaded in ${formatDuration(event.durationMs)} (${event.files.join(', ')} changed): ${plural(event.workflows, 'workflow')}, ${plural(event.agents, 'agent')}, ${plural(event.tools, 'tool')}; new executions use it, running ones finish on theirs${event.unapplied.length > 0 ? `\n  ! restart to apply the changed settings: ${event.unapplied.join(', ')}` : ''}`;
    case 'reload-failed':
      return `✗ not reloaded (${event.files.join(', ')} changed): ${event.message}\n  the previous version keeps running`;
    case 'exit':
      return `stopped (${event.reason})`;
  }
}

export interface ProcessOutput {
  log(line: string): void;
  emit(event: ProcessEvent): void;
}

/** stdout as JSON Lines (--json) or as one human line per event. */
export function processOutput(json: boolean, stream: NodeJS.WritableStream = process.stdout): ProcessOutput {
  const emit = json ? (event: ProcessEvent) => stream.write(`${JSON.stringify(event)}\n`) : (event: ProcessEvent) => stream.write(`${describeEvent(event)}\n`);
  return { emit, log: (message) => emit({ event: 'log', message }) };
}
