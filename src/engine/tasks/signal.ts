import { CompozyError } from '../../errors.js';
import type { SignalTaskConfig } from '../../config/types.js';
import type { TaskBase } from '../definition.js';
import type { HandlerContext, TaskKind, TaskRunResult } from './kind.js';

/** Sends an event: the workflow whose signal trigger has this id starts with the rendered payload. */
export type SignalTaskDef = TaskBase<'signal'> & Pick<SignalTaskConfig, 'signal'>;

export const signalTask: TaskKind<'signal'> = {
  type: 'signal',
  compile: (config) => (config.signal ? { signal: config.signal } : {}),
  templated: (def) => ({ templates: [def.signal?.payload], cel: [] }),
};

export async function runSignal(task: SignalTaskDef, ctx: Record<string, unknown>, h: HandlerContext): Promise<TaskRunResult> {
  const signal = task.signal;
  if (!signal?.id) throw new CompozyError('SIGNAL_FAILED', `Signal task "${task.id}" has no signal.id.`);
  const payload = h.render(signal.payload ?? {}, ctx);
  const workflow = ctx.workflow as { exec_id?: unknown } | undefined;
  await h.deps.signals.dispatch(signal.id, payload, { workflowExecId: String(workflow?.exec_id) });
  return { raw: { signal_dispatched: true, signal_id: signal.id } };
}
