/**
 * `import { createTestEnvironment } from 'compozy/testing'`: run a project's workflows against a
 * throwaway platform with scripted models, and assert on their outputs and task states.
 */
export { createTestEnvironment, type TestEnvironment, type TestEnvironmentOptions, type TestRun, type TestRunOptions } from './environment.js';
export { subsetMismatch } from './match.js';
export type { ModelAnswer, ModelAnswers, ModelCall, ModelFunction } from './scripted-model.js';
export type { ToolScript } from './scripted-adapters.js';
export type { Execution, Status, TaskExecution } from '../api/execution.js';
export type { ProjectDefinition } from '../api/project-source.js';
