/**
 * What the engine tells the process that runs it about executions, for the dev terminal and
 * `--json` event streams. Called from activities; an observer must not throw.
 */
export type ExecutionEvent =
  | { event: 'execution-started'; workflow: string; execId: string }
  | { event: 'execution-finished'; workflow: string; execId: string; status: string; durationMs: number; error?: { code: string; message: string } }
  | { event: 'task-failed'; workflow: string; execId: string; taskId: string; code: string; message: string; attempt: number; maxAttempts: number; retrying: boolean };

export type ExecutionObserver = (event: ExecutionEvent) => void;
