import { describeProblems, SchemaValidator } from '../../platform/schema-validator.js';
import type { ExecutionError, ExecutionStore } from '../../store/store.js';
import type { WorkflowDef } from '../definition.js';
import { engineError } from '../engine-error.js';
import type { RunInput, ScheduledRunRequest } from '../protocol.js';

/**
 * The execution record of a scheduled run, written as the API's start writes it (PENDING, the input),
 * and the interpreter's input. A workflow this worker's project does not have, or an input its schema
 * refuses, is recorded as a FAILED execution saying why, and nothing runs: the fire is visible in the
 * execution list either way.
 */
export class ScheduledRuns {
  private readonly schemas = new SchemaValidator();

  constructor(
    private readonly store: ExecutionStore,
    private readonly workflows: ReadonlyMap<string, WorkflowDef>,
  ) {}

  async open(request: ScheduledRunRequest & { execId: string }): Promise<RunInput | null> {
    const { workflowId, input, execId } = request;
    const record = async (error?: ExecutionError) => {
      await this.store.createWorkflowExecution({ workflowExecId: execId, workflowId, input, status: 'PENDING' });
      if (error) await this.store.updateWorkflowExecution(execId, { status: 'FAILED', error });
    };
    const def = this.workflows.get(workflowId);
    if (!def) {
      await record(engineError('WORKFLOW_NOT_FOUND', `the schedule fired for workflow "${workflowId}", which the worker's project does not have`));
      return null;
    }
    const problems = def.inputSchema ? this.schemas.problems(def.inputSchema, input) : [];
    if (problems.length > 0) {
      await record(engineError('INPUT_INVALID', `the schedule's input does not match the input schema of workflow ${workflowId}: ${describeProblems(problems)}`));
      return null;
    }
    await record();
    return { def, execId };
  }
}
