import { existsSync } from 'node:fs';
import { isObj, Reader, suggestion, type Obj } from '../config/read.js';
import type { ProjectConfig } from '../config/types.js';
import { YamlFile, type ConfigDiagnostic, type YamlPath } from '../config/yaml-file.js';
import { isValidDuration, parseDuration } from '../config/duration.js';
import { ReplayFixtures, type ReplayAnswer } from '../llm/replay.js';
import { STATUSES, type Status } from '../store/store.js';

/** What a case expects of its execution; every part is optional. */
export interface CaseExpectation {
  status?: Status;
  /** A subset of the workflow output. */
  output?: unknown;
  /** The error's code (and a substring of its message) of a failed execution. */
  error?: { code?: string; message?: string };
  /** Per task id: its status and a subset of its output; `absent: true` for a task that must not run. */
  tasks: Record<string, { status?: Status; output?: unknown; absent: boolean }>;
}

/** One case of a `*.test.yaml` file. */
export interface TestCase {
  name: string;
  workflow: string;
  input: Record<string, unknown>;
  /** The scripted model answers: the case's, else the file's; `replay` reads a fixtures file of the project. */
  answers: { kind: 'answers'; answers: ReplayAnswer[] } | { kind: 'replay'; model: string } | undefined;
  timeoutMs: number;
  expect: CaseExpectation;
  line: number;
}

export interface CaseFile {
  path: string;
  cases: TestCase[];
  /** Tool results instead of the project's tool code, for every case of the file. */
  tools: Record<string, Record<string, unknown>>;
}

const FILE_FIELDS = new Set(['workflow', 'replay', 'answers', 'tools', 'timeout', 'cases']);
const CASE_FIELDS = new Set(['name', 'workflow', 'input', 'replay', 'answers', 'timeout', 'expect']);
const EXPECT_FIELDS = new Set(['status', 'output', 'error', 'tasks']);
const TASK_FIELDS = new Set(['status', 'output', 'absent']);
const ERROR_FIELDS = new Set(['code', 'message']);
const ANSWER_FIELDS = new Set(['agent', 'action', 'when', 'output', 'text']);
const DEFAULT_TIMEOUT = '60s';

class CaseReader {
  readonly r: Reader;

  constructor(
    readonly file: YamlFile,
    readonly project: ProjectConfig,
    diagnostics: ConfigDiagnostic[],
  ) {
    this.r = new Reader(file, diagnostics);
  }

  status(obj: Obj, path: YamlPath): Status | undefined {
    const text = this.r.string(obj, path, 'status');
    if (text === undefined) return undefined;
    if (!(STATUSES as readonly string[]).includes(text)) {
      this.r.error([...path, 'status'], `Unknown status "${text}".`, suggestion(text, STATUSES, 'status'));
      return undefined;
    }
    return text as Status;
  }

  workflow(obj: Obj, path: YamlPath, required: boolean): string | undefined {
    const id = this.r.string(obj, path, 'workflow', required);
    if (id !== undefined && !this.project.workflows.some((w) => w.id === id)) {
      this.r.error([...path, 'workflow'], `The project has no workflow "${id}".`, suggestion(id, this.project.workflows.map((w) => w.id), 'workflow'));
    }
    return id;
  }

  timeout(obj: Obj, path: YamlPath): string | undefined {
    const text = this.r.string(obj, path, 'timeout');
    if (text !== undefined && !isValidDuration(text)) this.r.error([...path, 'timeout'], `"${text}" is not a duration.`, 'Write it like 30s or 2m.');
    return text;
  }

  answers(obj: Obj, path: YamlPath): TestCase['answers'] {
    if (obj.replay !== undefined && obj.answers !== undefined) {
      this.r.error([...path, 'answers'], 'Give answers or replay, not both.');
      return undefined;
    }
    const model = this.r.string(obj, path, 'replay');
    if (model !== undefined) {
      const fixtures = ReplayFixtures.path(this.project.dir, model);
      if (!existsSync(fixtures)) this.r.error([...path, 'replay'], `replay: ${model} reads ${fixtures}, which does not exist.`, 'Create it (answers: [{agent, action, output}]), or script the answers in the case.');
      return { kind: 'replay', model };
    }
    if (obj.answers === undefined) return undefined;
    const agents = new Map(this.project.agents.map((a) => [a.id, a]));
    for (const workflow of this.project.workflows) for (const agent of workflow.agents) agents.set(agent.id, agent);
    const answers = this.r.list(obj, path, 'answers').flatMap((raw, i): ReplayAnswer[] => {
      const at = [...path, 'answers', i];
      if (!isObj(raw)) {
        this.r.error(at, 'An answer is a mapping: {agent, action?, when?, output | text}.');
        return [];
      }
      this.r.knownKeys(raw, at, ANSWER_FIELDS, 'answer');
      const agent = this.r.string(raw, at, 'agent', true);
      const action = this.r.string(raw, at, 'action');
      const text = this.r.string(raw, at, 'text');
      if (agent !== undefined && !agents.has(agent)) this.r.error([...at, 'agent'], `The project has no agent "${agent}".`, suggestion(agent, agents.keys(), 'agent'));
      const actions = agent === undefined ? undefined : agents.get(agent)?.actions.map((a) => a.id);
      if (action !== undefined && actions && !actions.includes(action)) this.r.error([...at, 'action'], `Agent "${agent}" has no action "${action}".`, suggestion(action, actions, 'action'));
      if ((raw.output === undefined) === (text === undefined)) this.r.error(at, 'An answer needs exactly one of output (the JSON answer) or text.');
      const when = raw.when === undefined ? undefined : this.r.map(raw, at, 'when');
      return [{ ...(agent !== undefined ? { agent } : {}), ...(action !== undefined ? { action } : {}), ...(when ? { when } : {}), ...(raw.output !== undefined ? { output: raw.output } : {}), ...(text !== undefined ? { text } : {}) }];
    });
    return { kind: 'answers', answers };
  }

  expectation(obj: Obj, path: YamlPath): CaseExpectation {
    const raw = this.r.map(obj, path, 'expect');
    const at = [...path, 'expect'];
    this.r.knownKeys(raw, at, EXPECT_FIELDS, 'expect');
    const status = this.status(raw, at);
    const errorRaw = raw.error === undefined ? undefined : this.r.map(raw, at, 'error');
    if (errorRaw) this.r.knownKeys(errorRaw, [...at, 'error'], ERROR_FIELDS, 'expect.error');
    const code = errorRaw ? this.r.string(errorRaw, [...at, 'error'], 'code') : undefined;
    const message = errorRaw ? this.r.string(errorRaw, [...at, 'error'], 'message') : undefined;
    const tasks: CaseExpectation['tasks'] = {};
    for (const [id, value] of Object.entries(this.r.map(raw, at, 'tasks'))) {
      const taskAt = [...at, 'tasks', id];
      if (!isObj(value)) {
        this.r.error(taskAt, `The expectation of task "${id}" must be a mapping: {status?, output?, absent?}.`);
        continue;
      }
      this.r.knownKeys(value, taskAt, TASK_FIELDS, 'expected task');
      const absent = this.r.bool(value, taskAt, 'absent');
      if (absent && (value.status !== undefined || value.output !== undefined)) this.r.error([...taskAt, 'absent'], `Task "${id}" cannot be absent and have a status or output.`);
      const taskStatus = this.status(value, taskAt);
      tasks[id] = { absent, ...(taskStatus ? { status: taskStatus } : {}), ...(value.output !== undefined ? { output: value.output } : {}) };
    }
    return {
      tasks,
      ...(status ? { status } : {}),
      ...(raw.output !== undefined ? { output: raw.output } : {}),
      ...(errorRaw ? { error: { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) } } : {}),
    };
  }
}

/**
 * Reads a `*.test.yaml` file of a project: every problem (unknown fields, unknown workflows, agents,
 * tools or statuses, bad answers) is a diagnostic at its file:line:col, all of them at once.
 */
export function loadCaseFile(path: string, project: ProjectConfig): { file: CaseFile | undefined; diagnostics: ConfigDiagnostic[] } {
  const yaml = YamlFile.read(path);
  const diagnostics: ConfigDiagnostic[] = [...yaml.syntaxErrors];
  if (yaml.syntaxErrors.length > 0) return { file: undefined, diagnostics };
  if (!isObj(yaml.data)) return { file: undefined, diagnostics: [yaml.diagnostic([], 'A test file must hold a mapping with cases:.', 'Start it with `cases:` and a list of {name, input, expect}.')] };
  const c = new CaseReader(yaml, project, diagnostics);
  const { r } = c;
  const raw = yaml.data;
  r.knownKeys(raw, [], FILE_FIELDS, 'test file');
  const workflow = c.workflow(raw, [], false);
  const answers = c.answers(raw, []);
  const timeout = c.timeout(raw, []) ?? DEFAULT_TIMEOUT;
  const toolIds = new Set([...project.tools.map((t) => t.id), ...project.workflows.flatMap((w) => w.tools.map((t) => t.id))]);
  const tools: CaseFile['tools'] = {};
  for (const [id, value] of Object.entries(r.map(raw, [], 'tools'))) {
    if (!toolIds.has(id)) r.error(['tools', id], `The project has no tool "${id}".`, suggestion(id, toolIds, 'tool'));
    else if (!isObj(value)) r.error(['tools', id], `The scripted result of tool "${id}" must be a mapping (the object the tool returns).`);
    else tools[id] = value;
  }
  if (raw.cases === undefined) r.error([], '"cases" is required.', 'Add cases: with a list of {name, input, expect}.');
  const names = new Set<string>();
  const cases = r.list(raw, [], 'cases').flatMap((item, i): TestCase[] => {
    const at = ['cases', i];
    if (!isObj(item)) {
      r.error(at, 'A case is a mapping: {name, workflow?, input?, answers? | replay?, expect}.');
      return [];
    }
    r.knownKeys(item, at, CASE_FIELDS, 'case');
    const name = r.string(item, at, 'name', true);
    if (name !== undefined && names.has(name)) r.error([...at, 'name'], `Another case of this file is also named "${name}".`, 'Give each case its own name.');
    if (name !== undefined) names.add(name);
    const caseWorkflow = c.workflow(item, at, workflow === undefined) ?? workflow;
    const input = r.map(item, at, 'input');
    const caseAnswers = c.answers(item, at) ?? answers;
    const caseTimeout = c.timeout(item, at) ?? timeout;
    if (item.expect === undefined) r.error(at, `Case "${name ?? i}" has no expect:.`, 'Add expect: {status: SUCCESS, output: …}.');
    const expect = c.expectation(item, at);
    if (name === undefined || caseWorkflow === undefined) return [];
    return [{ name, workflow: caseWorkflow, input, answers: caseAnswers, timeoutMs: isValidDuration(caseTimeout) ? parseDuration(caseTimeout) : 60_000, expect, line: yaml.at(at).line }];
  });
  return { file: diagnostics.length === 0 ? { path, cases, tools } : undefined, diagnostics };
}
