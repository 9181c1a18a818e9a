import { parseDuration } from '../../config/duration.js';
import type { ExecutionOptions, SchemaDefinition, SchemaRef, TaskConfig, Transition } from '../../config/types.js';
import type { ActivityOptions, JsonSchema, TaskBase, TransitionDef } from '../definition.js';
import type { TaskType } from '../../config/types.js';

type Schemas = ReadonlyMap<string, SchemaDefinition>;

export function resolveSchema(ref: SchemaRef | undefined, schemas: Schemas): JsonSchema | undefined {
  if (!ref) return undefined;
  const schema = ref.kind === 'inline' ? ref.schema : schemas.get(ref.id)?.schema;
  if (!schema) return undefined;
  const { id: _id, ...body } = schema;
  void _id;
  return body;
}

export function durationMs(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseDuration(text);
}

function transition(t: Transition | undefined): TransitionDef | undefined {
  if (!t) return undefined;
  return { ...(t.next !== undefined ? { next: t.next } : {}), ...(Object.keys(t.with).length > 0 ? { with: t.with } : {}) };
}

export function mergeExecution(...levels: ExecutionOptions[]): ExecutionOptions {
  const out: ExecutionOptions = {};
  for (const level of levels) {
    Object.assign(out, { ...level, retryPolicy: { ...out.retryPolicy, ...level.retryPolicy } });
  }
  return out;
}

/** The task's own `timeout` bounds the tool or model call itself; these bound the activity around it. */
function activityOptions(execution: ExecutionOptions, retries: number | undefined): ActivityOptions {
  const policy = execution.retryPolicy ?? {};
  const set = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    ...set('startToCloseMs', durationMs(execution.startToCloseTimeout)),
    ...set('scheduleToCloseMs', durationMs(execution.scheduleToCloseTimeout)),
    ...set('heartbeatMs', durationMs(execution.heartbeatTimeout)),
    retry: {
      ...set('initialIntervalMs', durationMs(policy.initialInterval)),
      ...set('maximumIntervalMs', durationMs(policy.maximumInterval)),
      ...set('backoffCoefficient', policy.backoffCoefficient),
      ...set('maximumAttempts', retries !== undefined ? retries + 1 : policy.maximumAttempts),
      ...set('nonRetryableErrorTypes', policy.nonRetryableErrorTypes),
    },
  };
}

/** The fields every task type has, compiled from its config. */
export function compileBase<T extends TaskType>(task: TaskConfig & { type: T }, schemas: Schemas, inherited: ExecutionOptions): TaskBase<T> {
  // Only the types that run as an activity have their own config:, retries and timeout (wait: its waiting time).
  const executing = 'execution' in task ? task : undefined;
  const activity = activityOptions(executing ? mergeExecution(inherited, executing.execution) : inherited, executing?.retries);
  const def: TaskBase<T> = { id: task.id, type: task.type, with: task.with, env: task.env, activity };
  const inputSchema = resolveSchema(task.input, schemas);
  const outputSchema = resolveSchema(task.output, schemas);
  const onSuccess = transition(task.onSuccess);
  const onError = transition(task.onError);
  const timeoutMs = 'timeout' in task ? durationMs(task.timeout) : undefined;
  const sleepMs = durationMs(task.sleep);
  if (inputSchema) def.inputSchema = inputSchema;
  if (outputSchema) def.outputSchema = outputSchema;
  if (task.outputs) def.outputs = task.outputs;
  if (onSuccess) def.onSuccess = onSuccess;
  if (onError) def.onError = onError;
  if (timeoutMs !== undefined) def.timeoutMs = timeoutMs;
  if (sleepMs !== undefined) def.sleepMs = sleepMs;
  return def;
}
