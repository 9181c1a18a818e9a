import { CompozyError } from '../errors.js';
import type { ExecutionError } from '../store/store.js';

/**
 * What the engine lets travel through Temporal's history. Task inputs and outputs and the workflow
 * output live in the execution store and only their ids cross history; what must cross (a
 * collection's items, a transition's `with`, error messages) is bounded here. Temporal warns at a
 * 256 KB payload, rejects one of 2 MB, caps a workflow task's completion (every command and
 * local-activity marker of one task together) at a 4 MB gRPC message, and terminates a run at 50 MB
 * of history. 1 MiB per result keeps one result, plus the children it fans out to in the same
 * workflow task, under the 4 MB cap.
 */
export const HISTORY_RESULT_LIMIT_BYTES = 1024 * 1024;
/** Error messages in history; the store keeps the whole message. */
export const HISTORY_MESSAGE_LIMIT = 4096;
/** Error details in history; larger details stay in the store only. */
const HISTORY_DETAILS_LIMIT_BYTES = 16 * 1024;

export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text);
}

export function truncateMessage(message: string): string {
  if (message.length <= HISTORY_MESSAGE_LIMIT) return message;
  return `${message.slice(0, HISTORY_MESSAGE_LIMIT)}… (${message.length - HISTORY_MESSAGE_LIMIT} more characters in the execution store)`;
}

/** An error as it may be carried in history: the message cut, details kept only when small. */
export function carriedError(error: ExecutionError): ExecutionError {
  const details = error.details !== undefined && jsonBytes(error.details) <= HISTORY_DETAILS_LIMIT_BYTES ? error.details : undefined;
  return { message: truncateMessage(error.message), ...(error.code !== undefined ? { code: error.code } : {}), ...(details ? { details } : {}) };
}

/** A thrown error as Temporal records it for a retry: same code, message cut when it is too long. */
export function carriedThrow(error: unknown): unknown {
  const message = (error as { message?: unknown })?.message;
  if (typeof message !== 'string' || message.length <= HISTORY_MESSAGE_LIMIT) return error;
  const code = (error as { code?: unknown }).code;
  return Object.assign(new Error(truncateMessage(message)), typeof code === 'string' ? { code } : {});
}

export function payloadTooLarge(what: string, bytes: number): CompozyError {
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return new CompozyError('PAYLOAD_TOO_LARGE', `${what}: ${mib(bytes)}, more than the ${mib(HISTORY_RESULT_LIMIT_BYTES)} that can pass between tasks through Temporal.`, {
    hint: 'Task outputs of any size are kept in the execution store: pass ids or indexes between tasks and read the data with "{{ .tasks.<id>.output }}" instead.',
    details: { bytes, limit_bytes: HISTORY_RESULT_LIMIT_BYTES },
  });
}
