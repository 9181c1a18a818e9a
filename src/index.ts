/**
 * The programmatic API: `import { createCompozy } from 'compozy'`. Test helpers are in
 * `compozy/testing`.
 */
export {
  createCompozy,
  type AgentOutput,
  type AgentRun,
  type Compozy,
  type CompozyOptions,
  type ExecutionEvent,
  type RemoteOptions,
  type RunOptions,
  type StartOptions,
  type WorkflowInfo,
} from './api/compozy.js';
export type { Execution, ExecutionError, ExecutionSummary, Status, TaskExecution } from './api/execution.js';
export type { ProjectDefinition } from './api/project-source.js';
export type { SettingOverrides } from './api/settings.js';
export type { Mode } from './config/settings.js';
export { CompozyError, type ErrorCode } from './errors.js';
export { ShutdownError } from './platform/shutdown.js';
