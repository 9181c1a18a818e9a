import { AssertionError } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadValidProject } from '../config/valid-project.js';
import type { ExecutionEvent } from '../engine/observer.js';
import { CompozyError } from '../errors.js';
import { fromStore, untilEnded, type Execution, type Status, type TaskExecution } from '../api/execution.js';
import { startPlatform, type Platform } from '../api/platform.js';
import { projectFolder, type ProjectDefinition, type ProjectFolder } from '../api/project-source.js';
import { resolveSettings } from '../api/settings.js';
import { ReplayFixtures } from '../llm/replay.js';
import { ksuid } from '../store/ksuid.js';
import { assertSubset } from './match.js';
import { scriptedAdapters, type ToolScript } from './scripted-adapters.js';
import { startTestServer } from './test-server.js';
import { ScriptRouter, scriptFrom, type ModelAnswers } from './scripted-model.js';

export interface TestEnvironmentOptions {
  /** A project folder, or a project given as data ({config, files}). */
  project: string | ProjectDefinition;
  /**
   * How agents answer, for every run that brings no answers of its own: `{ replay: 'weather' }` reads the
   * project's replay/weather.yaml, `{ answers }` scripts them here. No real model is ever called.
   */
  models?: { replay: string } | { answers: ModelAnswers };
  /** Results of these tools instead of running the project's tool code. */
  tools?: Readonly<Record<string, ToolScript>>;
  temporal?: {
    /**
     * A running Temporal to use instead of starting a test server (e.g. one server for many environments);
     * the environment then polls a task queue of its own.
     */
    address?: string;
    /** The Temporal CLI to run (default: the resolver's PATH → cache → install). */
    bin?: string;
    /** `--dynamic-config-value` entries for the test server, e.g. `limit.historyCount.error=500`. */
    dynamicConfig?: readonly string[];
  };
  /** The platform's log lines (tool output, worker notices, Temporal CLI install progress); default: none. */
  log?: (line: string) => void;
}

export interface TestRunOptions {
  /** This run's model answers, instead of the environment's. */
  answers?: ModelAnswers;
  /** This run's answers from the project's replay/<name>.yaml, instead of the environment's. */
  replay?: string;
  /** Start at this top-level task instead of the first. */
  taskId?: string;
  /** How long to wait for the end (default 60 s); then WAIT_TIMEOUT. */
  timeoutMs?: number;
}

/** A finished execution with assertions that throw node's AssertionError (reported by vitest, jest, node:test…). */
export interface TestRun extends Execution {
  /** The state of a task; fails when the task did not run. */
  task(taskId: string): TaskExecution;
  expectStatus(status: Status): TestRun;
  /** The workflow output contains `expected` (objects by subset, lists element by element). */
  expectOutput(expected: unknown): TestRun;
  /** The task ran, and its status and output are as given. */
  expectTask(taskId: string, expected: { status?: Status; output?: unknown }): TestRun;
}

export interface TestEnvironment {
  /** The project as loaded (its folder, for a ProjectDefinition the temporary one). */
  readonly projectDir: string;
  /** Runs a workflow to its end and returns it with assertions. */
  run(workflowId: string, input?: unknown, options?: TestRunOptions): Promise<TestRun>;
  /** The execution as stored now. */
  execution(execId: string): Promise<Execution>;
  /** Runs a tool once (scripted tools answer as scripted). */
  runTool(toolId: string, input?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Every execution event of this environment so far, oldest first. */
  readonly events: readonly ExecutionEvent[];
  /** Stops the worker and the Temporal test server, and removes the KV, store and temporary project. */
  teardown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function withAssertions(execution: Execution): TestRun {
  const run: TestRun = {
    ...execution,
    task(taskId) {
      const state = execution.tasks[taskId];
      if (!state) {
        throw new AssertionError({ message: `Task "${taskId}" did not run in execution ${execution.execId} (tasks: ${Object.keys(execution.tasks).join(', ') || 'none'}).`, actual: Object.keys(execution.tasks), expected: taskId, operator: 'includes' });
      }
      return state;
    },
    expectStatus(status) {
      if (execution.status !== status) {
        const reason = execution.error ? ` (${execution.error.code ?? 'error'}: ${execution.error.message})` : '';
        throw new AssertionError({ message: `Execution ${execution.execId} of ${execution.workflowId} is ${execution.status}${reason}, expected ${status}.`, actual: execution.status, expected: status, operator: 'strictEqual' });
      }
      return run;
    },
    expectOutput(expected) {
      assertSubset(execution.output, expected, `output of ${execution.workflowId}`);
      return run;
    },
    expectTask(taskId, expected) {
      const state = run.task(taskId);
      if (expected.status !== undefined && state.status !== expected.status) {
        const reason = state.error ? ` (${state.error.code ?? 'error'}: ${state.error.message})` : '';
        throw new AssertionError({ message: `Task ${taskId} is ${state.status}${reason}, expected ${expected.status}.`, actual: state.status, expected: expected.status, operator: 'strictEqual' });
      }
      if (expected.output !== undefined) assertSubset(state.output, expected.output, `output of task ${taskId}`);
      return run;
    },
  };
  return run;
}

/**
 * A test environment for a project: a Temporal dev server in memory (@temporalio/testing on the
 * resolved Temporal CLI), a KV and store in a temporary folder, scripted models, and a worker, all on
 * the same composition root as `compozy serve`.
 */
export async function createTestEnvironment(options: TestEnvironmentOptions): Promise<TestEnvironment> {
  const folder: ProjectFolder = projectFolder(options.project);
  const stateDir = mkdtempSync(join(tmpdir(), 'compozy-test-'));
  const removeFiles = () => {
    rmSync(stateDir, { recursive: true, force: true });
    folder.dispose();
  };
  let platform: Platform;
  const events: ExecutionEvent[] = [];
  let router: ScriptRouter;
  try {
    const address = options.temporal?.address;
    const { name, settings } = resolveSettings(folder.dir, {
      mode: 'persistent',
      kv: { driver: 'sqlite' },
      store: { driver: 'sqlite' },
      ...(address ? { temporal: { taskQueue: `compozy-test-${ksuid()}` } } : {}),
    });
    const config = loadValidProject(folder.dir);
    const models = options.models;
    const fallback = models === undefined ? undefined : 'replay' in models ? ReplayFixtures.load(config.dir, models.replay) : scriptFrom(models.answers, 'the test environment');
    router = new ScriptRouter(fallback);
    const log = options.log ?? (() => undefined);
    platform = await startPlatform({
      project: config,
      projectName: name,
      // A TEMPORAL_ADDRESS in the environment is not the test server.
      settings: { ...settings, temporalAddress: { value: address, source: address ? 'flag' : 'default', origin: 'compozy/testing' } },
      stateDir,
      worker: true,
      startTemporal: () => startTestServer({ namespace: settings.temporalNamespace.value, bin: options.temporal?.bin, log, ...(options.temporal?.dynamicConfig ? { dynamicConfig: options.temporal.dynamicConfig } : {}) }),
      log,
      emit: (event) => {
        if (event.event !== 'listening') events.push(event as ExecutionEvent);
      },
      overrides: scriptedAdapters(config, settings, router, options.tools ?? {}, log),
    });
  } catch (error) {
    removeFiles();
    throw error;
  }
  const { engine } = platform.runtime;
  const waitFor = async (execId: string, timeoutMs: number): Promise<Execution> =>
    fromStore(await untilEnded(execId, () => engine.execution(execId), { timeoutMs, maxDelayMs: 100, hint: 'Give run() a longer timeoutMs.' }));
  let tornDown: Promise<void> | undefined;
  const teardown = () => {
    tornDown ??= platform.stop().finally(removeFiles);
    return tornDown;
  };
  return {
    projectDir: folder.dir,
    events,
    async run(workflowId, input = {}, runOptions = {}) {
      const execId = ksuid();
      if (runOptions.answers && runOptions.replay !== undefined) throw new CompozyError('USAGE', 'Give a run answers or replay, not both.');
      if (runOptions.answers) router.set(execId, scriptFrom(runOptions.answers, `the run of ${workflowId}`));
      if (runOptions.replay !== undefined) router.set(execId, ReplayFixtures.load(folder.dir, runOptions.replay));
      try {
        await engine.start(workflowId, input, { execId, ...(runOptions.taskId ? { startTaskId: runOptions.taskId } : {}) });
        return withAssertions(await waitFor(execId, runOptions.timeoutMs ?? 60_000));
      } finally {
        router.delete(execId);
      }
    },
    async execution(execId) {
      return fromStore(await engine.execution(execId));
    },
    runTool: (toolId, input = {}) => platform.runtime.tools.call(toolId, input, {}),
    teardown,
    [Symbol.asyncDispose]: teardown,
  };
}
