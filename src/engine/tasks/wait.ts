import { evaluateCondition } from '../../expr/cel.js';
import type { ExecutionError } from '../../store/store.js';
import type { WaitTaskConfig } from '../../config/types.js';
import type { TaskBase, TaskDef } from '../definition.js';
import { engineError } from '../engine-error.js';
import type { SignalEnvelope } from '../protocol.js';
import { defined } from '../../config/read.js';
import type { TaskKind } from './kind.js';

/** Pauses until a signal named `wait_for` meets its condition (after its processor ran), or its timeout; onTimeout: the task to run next when the wait times out. */
export interface WaitTaskDef extends TaskBase<'wait'>, Pick<WaitTaskConfig, 'waitFor' | 'condition' | 'onTimeout'> {
  processor?: TaskDef;
}

export const waitTask: TaskKind<'wait'> = {
  type: 'wait',
  compile: (config, ctx) =>
    defined({ waitFor: config.waitFor, condition: config.condition, processor: config.processor ? ctx.child(config.processor) : undefined, onTimeout: config.onTimeout }),
  templated: (def) => ({ templates: [], cel: def.condition === undefined ? [] : [def.condition] }),
};

export function waitTimeoutError(task: WaitTaskDef): ExecutionError {
  const timeout = task.timeoutMs ?? 0;
  return engineError('WAIT_TIMEOUT', `wait task timed out after ${formatMs(timeout)}`, { signal_name: task.waitFor, timeout: formatMs(timeout) });
}

/** Whether the signal (and what its processor made of it) meets the wait's condition. */
export function conditionMet(task: WaitTaskDef, vars: Record<string, unknown>, signal: SignalEnvelope | null, processor: { output: unknown; error: unknown }): boolean {
  return evaluateCondition(task.condition ?? 'true', { ...vars, signal, processor });
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
