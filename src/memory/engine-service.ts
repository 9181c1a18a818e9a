import type { MemoryOperation, MemoryService } from '../engine/executors.js';
import { CompozyError } from '../errors.js';
import { executeMemoryOperation, type MemoryManager, type MemoryOperationRequest, type MemoryWarning } from './service.js';

/** A memory task's operation as the core's request: the task's configs mapped onto its options. */
function request(operation: MemoryOperation, memoryRef: string): MemoryOperationRequest {
  const { options = {} } = operation;
  const flush = options.flush;
  const maxKeys = operation.operation === 'flush' ? (flush?.maxKeys ?? options.maxKeys) : options.maxKeys;
  return {
    operation: operation.operation,
    memoryRef,
    key: operation.key,
    ...(operation.payload !== undefined ? { payload: operation.payload } : {}),
    ...(maxKeys !== undefined ? { maxKeys } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(flush
      ? {
          flush: {
            ...(flush.force !== undefined ? { force: flush.force } : {}),
            ...(flush.dryRun !== undefined ? { dryRun: flush.dryRun } : {}),
            ...(flush.strategy !== undefined ? { strategy: flush.strategy } : {}),
            ...(flush.threshold !== undefined ? { threshold: flush.threshold } : {}),
          },
        }
      : {}),
    ...(options.health?.includeStats !== undefined ? { health: { includeStats: options.health.includeStats } } : {}),
    ...(options.stats?.includeContent !== undefined ? { stats: { includeContent: options.stats.includeContent } } : {}),
    ...(options.clear ? { clear: { confirm: options.clear.confirm === true, ...(options.clear.backup !== undefined ? { backup: options.clear.backup } : {}) } } : {}),
  };
}

/**
 * The engine's memory service on the memory core: a memory task's operation runs through
 * executeMemoryOperation and answers in the §5.5 shapes. Every error keeps its code and details and
 * names the task, so a failed run says which task and which field (payload[1].role, key, memory_ref).
 */
export function engineMemoryService(manager: MemoryManager): MemoryService {
  return {
    async execute(operation) {
      const { task } = operation;
      if (operation.memoryRef === undefined) {
        throw new CompozyError('INPUT_INVALID', `Memory task "${task.id}" has no memory_ref.`, { details: { task_id: task.id, field: 'memory_ref' } });
      }
      try {
        return await executeMemoryOperation(manager, request(operation, operation.memoryRef));
      } catch (error) {
        if (!(error instanceof CompozyError)) throw error;
        throw new CompozyError(error.code, `Memory task "${task.id}": ${error.message}`, {
          details: { ...error.details, task_id: task.id },
          ...(error.hint ? { hint: error.hint } : {}),
          cause: error,
        });
      }
    },
  };
}

/** One line for the server log about something a memory worked around. */
export function describeMemoryWarning(warning: MemoryWarning): string {
  if (warning.kind === 'corrupt_message') return `memory ${warning.ref} "${warning.key}": stored message ${warning.index} skipped (${warning.reason})`;
  return `memory ${warning.ref} "${warning.key}": flush failed: ${warning.error.message}`;
}
