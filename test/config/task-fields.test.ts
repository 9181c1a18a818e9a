import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { COMMON_TASK_FIELDS, TASK_TYPE_FIELDS, TASK_TYPES } from '../../src/config/types.js';
import { workflowDef } from '../../src/engine/definition.js';
import { writeFiles } from '../helpers/files.js';

const PROJECT = 'name: fields\nworkflows:\n  - source: ./wf.yaml\n';

/** Every diagnostic of a project, as `file:line:col key: message`. */
function problems(files: Record<string, string>): string[] {
  const dir = writeFiles({ 'compozy.yaml': PROJECT, ...files });
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.key}: ${d.message}`);
}

function workflow(body: string): string[] {
  return problems({ 'wf.yaml': `id: wf\ntools:\n  - id: echo\n${body}` });
}

describe('a task field of another type is refused, naming the field, the task and the types it belongs to', () => {
  it('items on a basic task', () => {
    expect(workflow('tasks:\n  - id: fetch\n    tool: echo\n    items: "{{ .workflow.input.list }}"\n')).toEqual([
      'wf.yaml:7:5 tasks[0].items: Field "items" is not valid on a basic task (task "fetch"); it belongs to collection tasks.',
    ]);
  });

  it('routes on a parallel task', () => {
    expect(workflow('tasks:\n  - id: fan\n    type: parallel\n    tasks:\n      - id: one\n        tool: echo\n    routes:\n      a: one\n')).toEqual([
      'wf.yaml:10:5 tasks[0].routes: Field "routes" is not valid on a parallel task (task "fan"); it belongs to router tasks.',
    ]);
  });

  it('wait_for on a basic task, condition on a basic task (router and wait tasks have one), tasks on a basic task (three types have them)', () => {
    expect(workflow('tasks:\n  - id: a\n    tool: echo\n    wait_for: ready\n    condition: "true"\n    tasks: []\n')).toEqual([
      'wf.yaml:7:5 tasks[0].wait_for: Field "wait_for" is not valid on a basic task (task "a"); it belongs to wait tasks.',
      'wf.yaml:8:5 tasks[0].condition: Field "condition" is not valid on a basic task (task "a"); it belongs to router and wait tasks.',
      'wf.yaml:9:5 tasks[0].tasks: Field "tasks" is not valid on a basic task (task "a"); it belongs to parallel, collection and composite tasks.',
    ]);
  });

  it('an agent, a prompt or a $use on a type that runs nothing itself', () => {
    expect(
      workflow('agents:\n  - id: w\n    model: openai:gpt-4o\n    instructions: hi\ntasks:\n  - id: s\n    type: signal\n    signal: { id: go }\n    agent: w\n    prompt: hi\n  - id: g\n    type: aggregate\n    outputs: { x: 1 }\n    $use: tool(local::tools.#(id=="echo"))\n'),
    ).toEqual([
      'wf.yaml:12:5 tasks[0].agent: Field "agent" is not valid on a signal task (task "s"); it belongs to basic tasks.',
      'wf.yaml:13:5 tasks[0].prompt: Field "prompt" is not valid on a signal task (task "s"); it belongs to basic tasks.',
      'wf.yaml:17:5 tasks[1].$use: Only basic tasks run a tool; this is an aggregate task.',
    ]);
  });

  it('a $use naming a task resource that does not exist is refused naming it (before, only "nothing to run" was said)', () => {
    expect(workflow('tasks:\n  - id: a\n    $use: task(local::tasks.#(id=="b"))\n')).toEqual(['wf.yaml:6:5 tasks[0].$use: Task resource "b" does not exist.']);
  });

  it('a nested task is checked against its own type, and an inline route is validated like any task', () => {
    expect(
      workflow(
        'tasks:\n  - id: each\n    type: collection\n    items: [1, 2]\n    task:\n      id: "item-{{ .index }}"\n      tool: echo\n      strategy: race\n  - id: pick\n    type: router\n    condition: "a"\n    routes:\n      a:\n        id: inline\n        tool: missing\n',
      ),
    ).toEqual([
      'wf.yaml:11:7 tasks[0].task.strategy: Field "strategy" is not valid on a basic task (task "item-{{ .index }}"); it belongs to parallel, collection and composite tasks.',
      'wf.yaml:18:9 tasks[1].routes.a.tool: Tool "missing" does not exist.',
    ]);
  });

  it('a transition takes next and with only (a retry: under on_error was dropped before)', () => {
    expect(workflow('tasks:\n  - id: a\n    tool: echo\n    on_error: { next: b, retry: 3 }\n  - id: b\n    tool: echo\n')).toEqual(['wf.yaml:7:26 tasks[0].on_error.retry: Unknown on_error field "retry".']);
  });

  it('a tool task with an action, a prompt or a model, and an agent task with both action and prompt, are refused (one of them was dropped)', () => {
    expect(
      workflow('agents:\n  - id: w\n    model: openai:gpt-4o\n    actions:\n      - id: go\n        prompt: hi\ntasks:\n  - id: a\n    tool: echo\n    action: go\n    prompt: hi\n    model: openai:gpt-4o\n  - id: b\n    agent: w\n    action: go\n    prompt: also\n'),
    ).toEqual([
      'wf.yaml:13:5 tasks[0].action: Task "a" runs a tool, which takes no action.',
      'wf.yaml:13:5 tasks[0].action: Task "a" names an action but no agent.',
      'wf.yaml:14:5 tasks[0].prompt: Task "a" runs a tool, which takes no prompt.',
      'wf.yaml:15:5 tasks[0].model: Task "a" runs a tool, which takes no model.',
      'wf.yaml:19:5 tasks[1].prompt: Task "b" has both an action and a prompt; the action\'s prompt is the one sent.',
    ]);
  });

  it('timeout, retries and config: belong to the types that run as an activity (and timeout to wait); on a parent they did nothing', () => {
    expect(workflow('tasks:\n  - id: fan\n    type: parallel\n    timeout: 30s\n    retries: 2\n    config: { start_to_close_timeout: 1m }\n    tasks:\n      - id: one\n        tool: echo\n')).toEqual([
      'wf.yaml:7:5 tasks[0].timeout: Field "timeout" is not valid on a parallel task (task "fan"); it belongs to basic, signal, wait and memory tasks.',
      'wf.yaml:8:5 tasks[0].retries: Field "retries" is not valid on a parallel task (task "fan"); it belongs to basic, signal and memory tasks.',
      'wf.yaml:9:5 tasks[0].config: Field "config" is not valid on a parallel task (task "fan"); it belongs to basic, signal and memory tasks.',
    ]);
    const dir = writeFiles({
      'compozy.yaml': PROJECT,
      'wf.yaml': 'id: wf\nconfig:\n  heartbeat_timeout: 5s\ntools:\n  - id: echo\ntasks:\n  - id: a\n    tool: echo\n    timeout: 30s\n    retries: 4\n    config: { start_to_close_timeout: 1m }\n',
    });
    const { project } = loadProjectConfig(dir);
    const def = project && workflowDef(project, project.workflows[0] as NonNullable<typeof project.workflows[0]>, 20);
    expect(def?.tasks[0]).toMatchObject({ timeoutMs: 30_000, activity: { startToCloseMs: 60_000, heartbeatMs: 5000, retry: { maximumAttempts: 5 } } });
  });

  it('a field of no type is still an unknown field with the likely one of the task\'s own type', () => {
    const found = problems({ 'wf.yaml': 'id: wf\ntasks:\n  - id: c\n    type: collection\n    items: [1]\n    itme_var: x\n    task: { tool: echo }\ntools:\n  - id: echo\n' });
    expect(found).toEqual(['wf.yaml:6:5 tasks[0].itme_var: Unknown task field "itme_var".']);
  });

  it('the collection rules of the Go validator: one of task and tasks, batch only when sequential', () => {
    expect(workflow('tasks:\n  - id: c\n    type: collection\n    items: [1]\n    batch: 2\n    task: { tool: echo }\n    tasks:\n      - id: x\n        tool: echo\n')).toEqual([
      'wf.yaml:8:5 tasks[0].batch: Collection task "c" has batch: but runs in parallel mode, where batch does nothing.',
      'wf.yaml:10:5 tasks[0].tasks: Collection task "c" has both task: and tasks:.',
    ]);
    expect(workflow('tasks:\n  - id: c\n    type: collection\n    items: [1]\n    mode: sequential\n    batch: 2\n    task: { tool: echo }\n')).toEqual([]);
  });

  it('the loaded config holds only the fields of its type', () => {
    const dir = writeFiles({
      'compozy.yaml': PROJECT,
      'wf.yaml': 'id: wf\ntools:\n  - id: echo\ntasks:\n  - id: a\n    tool: echo\n    on_success: { next: c }\n  - id: c\n    type: collection\n    items: [1]\n    task: { tool: echo }\n',
    });
    const tasks = loadProjectConfig(dir).project?.workflows[0]?.tasks ?? [];
    expect(Object.keys(tasks[0] ?? {}).sort()).toEqual(['env', 'execution', 'file', 'final', 'id', 'onSuccess', 'path', 'tool', 'type', 'with']);
    expect(tasks[1]).toMatchObject({ type: 'collection', items: [1], itemVar: 'item', indexVar: 'index', task: { type: 'basic', tool: 'echo' } });
    expect(tasks[0]).not.toHaveProperty('itemVar');
  });

  it('every type lists its own keys once and none of them is a common key', () => {
    for (const type of TASK_TYPES) {
      const keys = Object.values(TASK_TYPE_FIELDS[type]).flat();
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.filter((key) => (COMMON_TASK_FIELDS as readonly string[]).includes(key))).toEqual([]);
    }
  });
});

describe('reference fields nothing runs yet are refused by name, with where they are', () => {
  it('task attachments and knowledge (model_config works: test/config/models-refs.test.ts)', () => {
    expect(
      workflow('tasks:\n  - id: ask\n    prompt: hi\n    model: openai:gpt-4o\n    attachments: [{ type: image, url: "https://x/y.png" }]\n    knowledge: [{ id: docs }]\n'),
    ).toEqual([
      'wf.yaml:8:5 tasks[0].attachments: The task field "attachments" is not supported yet (task "ask").',
      'wf.yaml:9:5 tasks[0].knowledge: The task field "knowledge" is not supported yet (task "ask").',
    ]);
  });

  it('agent knowledge, with and env; action with and attachments; tool cwd (parsed and ignored before)', () => {
    expect(
      workflow(
        'agents:\n  - id: w\n    model: openai:gpt-4o\n    mcps: [{ id: fs }]\n    knowledge: [{ id: docs }]\n    with: { a: 1 }\n    env: { A: "1" }\n    actions:\n      - id: go\n        prompt: hi\n        with: { b: 2 }\n        attachments: []\ntasks:\n  - id: t\n    agent: w\n    action: go\n',
      ).concat(problems({ 'wf.yaml': 'id: wf\ntools:\n  - id: echo\n    cwd: ./tools\ntasks:\n  - id: t\n    tool: echo\n' })),
    ).toEqual([
      'wf.yaml:7:12 agents[0].mcps[0]: An MCP server with transport sse needs url:.',
      'wf.yaml:8:5 agents[0].knowledge: The agent field "knowledge" is not supported yet.',
      'wf.yaml:9:5 agents[0].with: The agent field "with" is not supported yet.',
      'wf.yaml:10:5 agents[0].env: The agent field "env" is not supported yet.',
      'wf.yaml:14:9 agents[0].actions[0].with: The action field "with" is not supported yet.',
      'wf.yaml:15:9 agents[0].actions[0].attachments: The action field "attachments" is not supported yet.',
      'wf.yaml:4:5 tools[0].cwd: The tool field "cwd" is not supported yet.',
    ]);
  });

  it("an inline tool in an agent's tools: is refused (only its id was read)", () => {
    expect(workflow('agents:\n  - id: w\n    model: openai:gpt-4o\n    tools:\n      - id: echo\n        description: Echoes\ntasks:\n  - id: t\n    agent: w\n    prompt: hi\n')).toEqual([
      'wf.yaml:9:9 agents[0].tools[0].description: An agent\'s tools name tools by id; "description" of an inline tool would be ignored.',
    ]);
  });

  it('a workflow schedule and webhook trigger; unknown workflow, trigger, config and retry_policy keys', () => {
    expect(
      problems({
        'wf.yaml':
          'id: wf\nschedule: { cron: "@daily", catchup: all }\nmcps: []\ninput: { type: object }\ntriggers:\n  - type: webhook\n    webhook: { slug: x }\n  - type: signal\n    name: go\n    payload: {}\nconfig:\n  on_error: { next: a }\n  global: {}\n  retry_policy: { max_attempts: 3 }\ntasks:\n  - id: a\n    prompt: hi\n    model: openai:gpt-4o\n',
      }),
    ).toEqual([
      'wf.yaml:2:29 schedule.catchup: Unknown schedule field "catchup".',
      'wf.yaml:4:1 input: Unknown workflow field "input".',
      'wf.yaml:7:5 triggers[0].webhook: A webhook needs at least one event.',
      'wf.yaml:10:5 triggers[1].payload: Unknown trigger field "payload".',
      'wf.yaml:12:3 config.on_error: The config field "on_error" is not supported yet.',
      'wf.yaml:13:3 config.global: The config field "global" is not supported yet.',
      'wf.yaml:14:19 config.retry_policy.max_attempts: Unknown retry_policy field "max_attempts".',
    ]);
  });

  it('a runtime.type other than node or bun, a malformed native tool and autoload options compozy does not honour', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: rt\nruntime:\n  type: deno\n  native_tools: { exec: true }\nautoload:\n  enabled: true\n  strict: false\n  watch_interval: 1s\nconfig:\n  env: { A: "1" }\n',
    });
    const { diagnostics } = loadProjectConfig(dir);
    expect(sortDiagnostics(diagnostics).map((d) => `${d.line}:${d.col} ${d.key}: ${d.message}`)).toEqual([
      '3:3 runtime.type: runtime.type "deno" is not supported: tools run under node or bun.',
      '4:19 runtime.native_tools.exec: "exec" must be a mapping.',
      '7:3 autoload.strict: autoload.strict: false is not supported: a duplicate id or a file that does not parse is always an error.',
      '8:3 autoload.watch_interval: The autoload field "watch_interval" is not supported yet.',
      '10:3 config.env: The config field "env" is not supported yet.',
    ]);
  });

  it('project fields of the reference nothing reads (project tasks:, tools:, knowledge bases, monitoring)', () => {
    const dir = writeFiles({ 'compozy.yaml': 'name: p\ntasks:\n  - id: t\nmcps: []\nmonitoring: { enabled: true }\n' });
    expect(sortDiagnostics(loadProjectConfig(dir).diagnostics).map((d) => `${d.line}:${d.col} ${d.key}: ${d.message}`)).toEqual([
      '2:1 tasks: The project field "tasks" is not supported yet.',
      '5:1 monitoring: The project field "monitoring" is not supported yet.',
    ]);
  });

  it('a model field or param the model call does not take (organization, n, metadata…) is refused; the ones it takes load', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: m\nmodels:\n  - provider: openai\n    model: gpt-4o\n    organization: org-1\n    params: { temperature: 0.2, max_tokens: 100, n: 2, tempreature: 1 }\n',
    });
    const { project, diagnostics } = loadProjectConfig(dir);
    expect(sortDiagnostics(diagnostics).map((d) => `${d.line}:${d.col} ${d.key}: ${d.message}`)).toEqual([
      '5:5 models[0].organization: The model field "organization" is not supported yet.',
      '6:50 models[0].params.n: The params field "n" is not supported yet.',
      '6:56 models[0].params.tempreature: Unknown params field "tempreature".',
    ]);
    expect(project?.models[0]?.params).toMatchObject({ temperature: 0.2, max_tokens: 100 });
  });

  it('autoload.exclude leaves the matching files out (it was ignored before)', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: al\nautoload:\n  enabled: true\n  include: ["agents/*.yaml"]\n  exclude: ["agents/*.draft.yaml"]\n',
      'agents/a.yaml': 'resource: agent\nid: kept\nmodel: openai:gpt-4o\n',
      'agents/b.draft.yaml': 'resource: agent\nid: draft\nmodel: openai:gpt-4o\nnot_a_field: 1\n',
    });
    const { project, diagnostics } = loadProjectConfig(join(dir));
    expect(diagnostics).toEqual([]);
    expect(project?.agents.map((a) => a.id)).toEqual(['kept']);
  });
});
