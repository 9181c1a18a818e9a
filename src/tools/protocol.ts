/** Messages between the parent and a tool worker over the IPC channel (stdout stays free for console output). */
export interface CallMessage {
  type: 'call';
  id: number;
  tool: string;
  input: unknown;
  config: unknown;
  /** The tool's own environment variables, set for the duration of the call. */
  env: Record<string, string>;
}

export type ReplyMessage =
  | { type: 'ready'; tools: string[] }
  /** location: where the entrypoint failed (path:line[:column]) when the error says; syntax: it did not parse. */
  | { type: 'load-failed'; message: string; location?: string; syntax?: boolean }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; code: 'TOOL_NOT_FOUND' | 'TOOL_FAILED' | 'TOOL_RESULT_TOO_LARGE' | 'TOOL_RESULT_INVALID'; message: string; stack?: string };

export const MAX_RESULT_BYTES = 10 * 1024 * 1024;
