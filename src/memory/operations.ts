import { MEMORY_OPERATION_LIMITS, MEMORY_OPERATIONS, type MemoryOperationName } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { parseMemoryPayload } from './limits.js';
import type { MemoryInstance, MemoryManager } from './service.js';
import type { ClearOptions, FlushOptions } from './types.js';

/** Operations that may address many conversations with a glob key (`user:*`). */
const MULTI_KEY: ReadonlySet<string> = new Set(['flush', 'health', 'clear', 'stats']);

/** One memory operation as a memory task or an API call asks for it, its templates already rendered. */
export interface MemoryOperationRequest {
  operation: string;
  memoryRef: string;
  /** The rendered key; flush, health, clear and stats also take a Redis glob (`user:*`) over many keys. */
  key: string;
  /** write/append: one message {role?, content} or a list. */
  payload?: unknown;
  /** read: one page of the conversation (readPaginated) instead of all of it. */
  page?: { offset: number; limit: number };
  /** With a glob key: at most this many conversations. */
  maxKeys?: number;
  /** With a glob key: conversations handled at once. */
  batchSize?: number;
  flush?: FlushOptions;
  health?: { includeStats?: boolean };
  stats?: { includeContent?: boolean };
  clear?: ClearOptions;
}

function invalid(field: string, message: string, hint?: string): CompozyError {
  return new CompozyError('INPUT_INVALID', message, { details: { field }, ...(hint ? { hint } : {}) });
}

/** A Redis glob (`user:*`) rather than one conversation's key. */
export function isKeyPattern(key: string): boolean {
  return /[*?[]/.test(key);
}

function bounded(value: number | undefined, fallback: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw invalid(field, `${field} must be a whole number from 1 to ${max}, not ${value}.`);
  return value;
}

async function single(instance: MemoryInstance, request: MemoryOperationRequest, operation: MemoryOperationName): Promise<Record<string, unknown>> {
  switch (operation) {
    case 'read':
      return request.page ? { ...(await instance.readPaginated(request.page.offset, request.page.limit)) } : { ...(await instance.read()) };
    case 'write':
      return { ...(await instance.write(parseMemoryPayload(request.payload))) };
    case 'append':
      return { ...(await instance.append(parseMemoryPayload(request.payload))) };
    case 'delete':
      return { ...(await instance.delete()) };
    case 'flush':
      return { ...(await instance.flush(request.flush)) };
    case 'health':
      return { ...(await instance.health(request.health)) };
    case 'clear':
      return { ...(await instance.clear(request.clear ?? { confirm: false })) };
    case 'stats': {
      const stats = await instance.stats();
      return request.stats?.includeContent ? { ...stats, messages: (await instance.read()).messages } : { ...stats };
    }
  }
}

/**
 * Runs one memory operation and answers in the §5.5 service shapes (snake_case, as
 * {{ .tasks.x.output.messages }} reads them). A glob key (flush, health, clear, stats) runs the
 * operation on every matching conversation and answers {key: pattern, keys, key_count, results, success}
 * (plus the summed message_count, token_count, messages_cleared). Errors: MEMORY_NOT_FOUND, INPUT_INVALID naming the
 * field (payload[1].role, key, operation…), MEMORY_UNAVAILABLE.
 */
export async function executeMemoryOperation(manager: MemoryManager, request: MemoryOperationRequest): Promise<Record<string, unknown>> {
  if (!(MEMORY_OPERATIONS as readonly string[]).includes(request.operation)) {
    throw invalid('operation', `Unknown memory operation "${request.operation}".`, `Use one of: ${MEMORY_OPERATIONS.join(', ')}.`);
  }
  const operation = request.operation as MemoryOperationName;
  manager.resource(request.memoryRef);
  if (!isKeyPattern(request.key)) return single(manager.instance(request.memoryRef, request.key), request, operation);
  if (!MULTI_KEY.has(operation)) {
    throw invalid('key', `The key "${request.key}" is a pattern; ${operation} works on one conversation.`, 'Only flush, health, clear and stats take a pattern key; render the key to one conversation.');
  }
  const maxKeys = bounded(request.maxKeys, MEMORY_OPERATION_LIMITS.defaultMaxKeys, MEMORY_OPERATION_LIMITS.maxKeys, 'max_keys');
  const batchSize = bounded(request.batchSize, MEMORY_OPERATION_LIMITS.defaultBatchSize, MEMORY_OPERATION_LIMITS.batchSize, 'batch_size');
  if (operation === 'clear' && request.clear?.confirm !== true) throw invalid('confirm', `Clearing every conversation of memory "${request.memoryRef}" matching "${request.key}" needs confirm: true.`);
  const keys = await manager.keys(request.memoryRef, request.key, { maxKeys });
  const results: Array<Record<string, unknown>> = [];
  for (let i = 0; i < keys.length; i += batchSize) {
    const batch = keys.slice(i, i + batchSize);
    results.push(...(await Promise.all(batch.map((key) => single(manager.instance(request.memoryRef, key), request, operation)))));
  }
  const sums: Record<string, number> = {};
  for (const field of ['message_count', 'token_count', 'messages_cleared']) {
    if (results.some((r) => typeof r[field] === 'number')) sums[field] = results.reduce((total, r) => total + (typeof r[field] === 'number' ? (r[field] as number) : 0), 0);
  }
  return { key: request.key, keys, key_count: keys.length, success: results.every((r) => r.success !== false && r.healthy !== false), ...sums, results };
}
