import { errorMessage } from '../errors.js';
import type { Execution, Status } from '../api/execution.js';
import type { CaseFile, TestCase } from './case-file.js';
import { createTestEnvironment, type TestEnvironment } from './environment.js';
import { subsetMismatch } from './match.js';

export interface CaseResult {
  file: string;
  name: string;
  workflow: string;
  /** Line of the case in its file. */
  line: number;
  passed: boolean;
  /** Null when the execution could not start. */
  execId: string | null;
  status: Status | null;
  /** Every expectation the execution did not meet, one sentence each. */
  failures: string[];
  durationMs: number;
}

/** Every way `execution` falls short of the case's expectations (none: the case passes). */
export function caseFailures(testCase: TestCase, execution: Execution): string[] {
  const { expect } = testCase;
  const failures: string[] = [];
  const status = expect.status ?? (expect.error ? 'FAILED' : 'SUCCESS');
  if (execution.status !== status) {
    const reason = execution.error ? ` (${execution.error.code ?? 'error'}: ${execution.error.message})` : '';
    failures.push(`status is ${execution.status}${reason}, expected ${status}`);
  }
  if (expect.output !== undefined) {
    const mismatch = subsetMismatch(execution.output, expect.output);
    if (mismatch) failures.push(`output: ${mismatch}`);
  }
  if (expect.error?.code !== undefined && execution.error?.code !== expect.error.code) {
    failures.push(`error code is ${execution.error?.code ?? 'none'}, expected ${expect.error.code}`);
  }
  if (expect.error?.message !== undefined && !(execution.error?.message ?? '').includes(expect.error.message)) {
    failures.push(`error message ${JSON.stringify(execution.error?.message ?? null)} does not contain ${JSON.stringify(expect.error.message)}`);
  }
  for (const [taskId, want] of Object.entries(expect.tasks)) {
    const state = execution.tasks[taskId];
    if (want.absent) {
      if (state) failures.push(`task ${taskId} ran (${state.status}), expected it not to`);
      continue;
    }
    if (!state) {
      failures.push(`task ${taskId} did not run`);
      continue;
    }
    if (want.status !== undefined && state.status !== want.status) {
      const reason = state.error ? ` (${state.error.code ?? 'error'}: ${state.error.message})` : '';
      failures.push(`task ${taskId} is ${state.status}${reason}, expected ${want.status}`);
    }
    if (want.output !== undefined) {
      const mismatch = subsetMismatch(state.output, want.output);
      if (mismatch) failures.push(`task ${taskId} output: ${mismatch}`);
    }
  }
  return failures;
}

async function runCase(env: TestEnvironment, testCase: TestCase): Promise<Omit<CaseResult, 'file' | 'durationMs'>> {
  const base = { name: testCase.name, workflow: testCase.workflow, line: testCase.line };
  const { answers } = testCase;
  let execution: Execution;
  try {
    execution = await env.run(testCase.workflow, testCase.input, {
      timeoutMs: testCase.timeoutMs,
      ...(answers?.kind === 'answers' ? { answers: answers.answers } : answers?.kind === 'replay' ? { replay: answers.model } : {}),
    });
  } catch (error) {
    return { ...base, passed: false, execId: null, status: null, failures: [`the execution did not run: ${errorMessage(error)}`] };
  }
  const failures = caseFailures(testCase, execution);
  return { ...base, passed: failures.length === 0, execId: execution.execId, status: execution.status, failures };
}

export interface RunCaseFilesOptions {
  projectDir: string;
  /** How a file is named in results (relative to the project). */
  displayPath(path: string): string;
  /** The Temporal every file's environment runs on (each on a task queue of its own). */
  temporalAddress: string;
  /** Told of each case as soon as it has a result. */
  onResult(result: CaseResult): void;
}

/** Runs each file's cases in order, one test environment per file (its scripted tools apply to all its cases). */
export async function runCaseFiles(files: readonly CaseFile[], options: RunCaseFilesOptions): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const file of files) {
    const env = await createTestEnvironment({ project: options.projectDir, tools: file.tools, temporal: { address: options.temporalAddress } });
    try {
      for (const testCase of file.cases) {
        const started = Date.now();
        const result: CaseResult = { file: options.displayPath(file.path), ...(await runCase(env, testCase)), durationMs: Date.now() - started };
        results.push(result);
        options.onResult(result);
      }
    } finally {
      await env.teardown();
    }
  }
  return results;
}
