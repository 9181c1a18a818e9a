import { errorMessage } from '../../errors.js';
import type { ExecutionError, Status, TaskState, WorkflowExecution } from '../../store/store.js';
import { workflowContext } from '../context.js';
import { carriedError } from '../history-limits.js';
import { isTerminal } from '../progress.js';
import type { CompleteWorkflowRequest, RunResult } from '../protocol.js';
import { engineError, isFailed } from './outcome.js';
import type { TaskRuntime } from './task-runtime.js';

/** The execution's own status: paused and resumed, and its final status and output once the workflow ends. */
export class WorkflowCompletion {
  constructor(private readonly rt: TaskRuntime) {}

  async markWorkflow(execId: string, status: Status): Promise<void> {
    await this.rt.deps.store.updateWorkflowExecution(execId, { status });
  }

  /**
   * The workflow's final status and output (reference §3.4): FAILED when any top-level task failed,
   * even one handled by on_error; the output is `outputs:` rendered, or every task's output by id.
   * The output stays in the store: the workflow's own result is only the status and a bounded error,
   * so the last workflow task always fits in what Temporal carries and the run completes.
   */
  async completeWorkflow(request: CompleteWorkflowRequest): Promise<RunResult> {
    const execution = await this.rt.execution(request.execId);
    const states = execution.taskStates;
    if (request.canceled) {
      const error = engineError('CANCELED', 'the execution was canceled');
      // A task still waiting or running when its execution is canceled ends with it, not RUNNING forever.
      for (const { createdAt: _created, updatedAt: _updated, ...state } of states.filter((s) => !isTerminal(s.status))) {
        await this.rt.deps.store.upsertTaskState({ ...state, status: 'CANCELED', error });
      }
      await this.rt.deps.store.updateWorkflowExecution(request.execId, { status: 'CANCELED', error });
      this.finished(execution, 'CANCELED', error);
      return { status: 'CANCELED', error };
    }
    const topFailed = states.find((s) => !s.parentStateId && isFailed(s.status));
    let status: Status = request.failure || topFailed ? 'FAILED' : 'SUCCESS';
    let error: ExecutionError | null = request.failure ?? (topFailed ? { code: topFailed.error?.code ?? 'TASK_FAILED', message: `task ${topFailed.taskId} failed: ${topFailed.error?.message ?? 'unknown error'}` } : null);
    const defaults: Record<string, unknown> = {};
    for (const state of [...states].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))) {
      defaults[state.taskId] = {
        output: state.output,
        ...(state.parentStateId ? { parent_state_id: state.parentStateId } : {}),
        ...(state.executionType !== 'basic' ? { execution_type: state.executionType } : {}),
      };
    }
    let output: unknown = defaults;
    if (request.outputs) {
      const ctx = workflowContext(execution, states, request.env);
      try {
        output = this.rt.render(request.outputs, { ...ctx, output: defaults, status, workflow_id: execution.workflowId, workflow_exec_id: execution.workflowExecId, error });
      } catch (failure) {
        // A workflow that already failed keeps its own error: its outputs often read the failed task's result, and that would hide the cause.
        if (!error) {
          status = 'FAILED';
          error = engineError('OUTPUT_TRANSFORMATION_FAILED', `workflow outputs: ${errorMessage(failure)}`);
        }
      }
    }
    await this.rt.deps.store.updateWorkflowExecution(request.execId, { status, output, error, usage: usageSummary(states) });
    this.finished(execution, status, error);
    return { status, error: error ? carriedError(error) : null };
  }

  /** Once per execution: a local activity that runs again (at least once) finds it already terminal. */
  private finished(execution: WorkflowExecution, status: Status, error: ExecutionError | null): void {
    if (isTerminal(execution.status)) return;
    this.rt.notify({
      event: 'execution-finished',
      workflow: execution.workflowId,
      execId: execution.workflowExecId,
      status,
      durationMs: Math.max(0, Date.now() - Date.parse(execution.createdAt)),
      ...(error ? { error: { code: error.code ?? 'TASK_FAILED', message: error.message } } : {}),
    });
  }
}

/** Token usage over the execution's agent tasks, per provider:model; null when no agent ran. */
function usageSummary(states: readonly TaskState[]): unknown {
  const byModel = new Map<string, { provider: string; model: string; input_tokens: number; output_tokens: number; calls: number }>();
  for (const state of states) {
    const usage = state.usage as { provider?: string; model?: string; input_tokens?: number; output_tokens?: number } | null;
    if (!usage?.provider) continue;
    const key = `${usage.provider}:${usage.model ?? ''}`;
    const entry = byModel.get(key) ?? { provider: usage.provider, model: usage.model ?? '', input_tokens: 0, output_tokens: 0, calls: 0 };
    entry.input_tokens += usage.input_tokens ?? 0;
    entry.output_tokens += usage.output_tokens ?? 0;
    entry.calls++;
    byModel.set(key, entry);
  }
  if (byModel.size === 0) return null;
  const models = [...byModel.values()];
  return { input_tokens: models.reduce((n, m) => n + m.input_tokens, 0), output_tokens: models.reduce((n, m) => n + m.output_tokens, 0), models };
}
