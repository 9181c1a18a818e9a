import { compiledSchema, InvalidSchemaError } from '../platform/schema-validator.js';
import { TemplateError } from '../expr/template-error.js';
import { templates } from '../expr/template.js';
import { compileCel } from '../expr/cel.js';
import { CompozyError } from '../errors.js';
import { isValidDuration } from './duration.js';
import { projectMemories } from './memory-resource.js';
import { modelUses, type ModelUse } from './model-uses.js';
import { agentsWithMcpScope, projectMcpServers } from './mcp-servers.js';
import { nativeToolProblem, type NativeToolsConfig } from './native-tools.js';
import { isKnownProvider, PROVIDERS } from './providers.js';
import { suggestion } from './read.js';
import {
  childTasks,
  MEMORY_OPERATIONS,
  type AgentConfig,
  type BasicTaskConfig,
  type Located,
  type MemoryResource,
  type ModelConfig,
  type ProjectConfig,
  type SchemaDefinition,
  type SchemaRef,
  type WebhookTrigger,
  type TaskConfig,
  type ToolConfig,
  type WorkflowConfig,
} from './types.js';
import { formatPath, type ConfigDiagnostic, type YamlPath } from './yaml-file.js';

/** What a workflow's tasks may name. */
interface TaskScope {
  schemas: ReadonlyMap<string, SchemaDefinition>;
  agents: ReadonlyMap<string, AgentConfig>;
  tools: ReadonlyMap<string, ToolConfig>;
  memories: ReadonlyMap<string, MemoryResource>;
}


class Validator {
  readonly diagnostics: ConfigDiagnostic[] = [];

  error(at: Located, path: YamlPath, message: string, hint?: string): void {
    this.diagnostics.push(at.file.diagnostic([...at.path, ...path], message, hint));
  }

  /** runtime.native_tools of the project: a cp__ id names a built-in tool, not a declared one. */
  nativeTools: NativeToolsConfig | undefined;

  /** A tool id an agent or a task names: a declared tool, or an enabled built-in cp__ tool. */
  toolRef(at: Located, path: YamlPath, id: string, tools: ReadonlyMap<string, ToolConfig>): void {
    if (id.startsWith('cp__')) {
      const problem = nativeToolProblem(id, this.nativeTools);
      if (problem) this.error(at, path, problem.message, problem.hint);
    } else if (!tools.has(id)) this.error(at, path, `Tool "${id}" does not exist.`, suggestion(id, tools.keys(), 'tool'));
  }

  duplicates<T extends Located & { id: string }>(items: readonly T[], what: string): void {
    const seen = new Map<string, T>();
    for (const item of items) {
      const first = seen.get(item.id);
      if (first) {
        const where = first.file.at(first.path);
        this.error(item, ['id'], `Duplicate ${what} id "${item.id}" (first defined at ${where.file}:${where.line}:${where.col}).`, `Give each ${what} a unique id.`);
      } else seen.set(item.id, item);
    }
  }

  /**
   * Tools and agents share one id space across the project at run time (the engine's resource index),
   * so a second definition of an id elsewhere (another workflow, the project, an inline task tool) that
   * differs from the first would replace it for every workflow: refused where it is written. Equal
   * definitions (the same resource used in two places) are fine; duplicates within one list are
   * reported by duplicates().
   */
  conflicts<T extends Located & { id: string }>(scopes: readonly (readonly T[])[], what: string): void {
    const first = new Map<string, { item: T; scope: number; content: string }>();
    scopes.forEach((items, scope) => {
      for (const item of items) {
        const content = JSON.stringify(item, (key, value: unknown) => (key === 'file' || key === 'path' || key === 'at' ? undefined : value));
        const seen = first.get(item.id);
        if (!seen) first.set(item.id, { item, scope, content });
        else if (seen.scope !== scope && seen.content !== content) {
          const where = seen.item.file.at(seen.item.path);
          this.error(item, ['id'], `The ${what} "${item.id}" is defined again with other settings (first at ${where.file}:${where.line}:${where.col}); ${what}s share one id space across the project, so one definition would replace the other in every workflow.`, `Give one of them another id, or define the ${what} once and use it from both places.`);
        }
      }
    });
  }

  duration(at: Located, path: YamlPath, value: string | undefined): void {
    if (value !== undefined && !isValidDuration(value)) this.error(at, path, `"${value}" is not a valid duration.`, 'Use Go duration syntax, e.g. 30s, 5m, 1h30m, 250ms.');
  }

  template(at: Located, path: YamlPath, value: unknown): void {
    if (typeof value === 'string') {
      if (!value.includes('{{')) return;
      try {
        templates.parse(value);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        const base = at.file.at([...at.path, ...path]);
        this.diagnostics.push({ ...base, key: formatPath([...at.path, ...path]), message: `Template error (line ${error.line}, column ${error.col} of the template): ${error.reason}`, hint: 'Fix the template syntax.' });
      }
    } else if (Array.isArray(value)) value.forEach((item, i) => this.template(at, [...path, i], item));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) this.template(at, [...path, k], v);
  }

  schema(ref: SchemaRef | undefined, known: ReadonlyMap<string, SchemaDefinition>): void {
    if (!ref) return;
    if (ref.kind === 'id') {
      if (!known.has(ref.id)) this.error(ref.at, [], `Schema "${ref.id}" does not exist.`, suggestion(ref.id, known.keys(), 'schema'));
      return;
    }
    this.jsonSchema(ref.at, ref.schema);
  }

  jsonSchema(at: Located, schema: Record<string, unknown>): void {
    try {
      compiledSchema(schema);
    } catch (error) {
      if (!(error instanceof InvalidSchemaError)) {
        this.error(at, [], `Invalid JSON Schema: ${(error as Error).message}.`);
        return;
      }
      // One message per offending place: the meta-schema's anyOf alternatives would repeat it.
      const seen = new Set<string>();
      for (const e of error.errors) {
        if (seen.has(e.instancePath)) continue;
        seen.add(e.instancePath);
        this.error(at, [], `Invalid JSON Schema: ${e.instancePath || '/'} ${e.message}.`, 'Follow JSON Schema draft-07 (type, properties, required, items…).');
      }
    }
  }

  /** A model under models: (or inline): its provider exists, and a generic OpenAI-compatible server has a URL. */
  model(model: ModelConfig): void {
    if (!isKnownProvider(model.provider)) this.error(model, ['provider'], `Provider "${model.provider}" does not exist.`, suggestion(model.provider, PROVIDERS, 'provider'));
    else if (model.provider === 'openai-compatible' && model.apiUrl === undefined) {
      this.error(model, [], `Model openai-compatible:${model.model} has no api_url.`, "Add api_url: the base URL of the server's OpenAI-compatible API, e.g. http://localhost:8000/v1.");
    }
  }

  /**
   * The model an agent or task names: a known provider in provider:model, a declared model id, or a
   * default model to fall back on. A templated ref depends on the environment, so `config validate`,
   * doctor and the llm health row check what it renders to instead.
   */
  modelRef(use: ModelUse, models: readonly ModelConfig[]): void {
    const ref = use.ref;
    if (ref === undefined) {
      if (!models.some((m) => m.isDefault)) this.error(use.at, use.key, `The ${use.user} has no model and the project has no default model.`, 'Give it model: provider:model, or mark one of the project models default: true.');
      return;
    }
    if (typeof ref !== 'string') {
      this.model(ref);
      return;
    }
    if (ref.includes('{{')) return;
    const text = ref.trim();
    const colon = text.indexOf(':');
    if (colon > 0) {
      const provider = text.slice(0, colon);
      if (!isKnownProvider(provider)) this.error(use.at, use.key, `Model "${text}": provider "${provider}" does not exist.`, suggestion(provider, PROVIDERS, 'provider'));
      return;
    }
    if (!models.some((m) => m.model === text)) {
      this.error(use.at, use.key, `Model "${text}" is not declared in the project.`, `Write it as provider:model, or declare it under models: (declared: ${models.map((m) => `${m.provider}:${m.model}`).join(', ') || 'none'}).`);
    }
  }

  workflow(project: ProjectConfig, workflow: WorkflowConfig): void {
    const schemas = new Map([...project.schemas, ...workflow.schemas].map((s) => [s.id, s]));
    const agents = new Map([...project.agents, ...workflow.agents].map((a) => [a.id, a]));
    const tools = new Map([...project.tools, ...workflow.tools].map((t) => [t.id, t]));
    const memories = new Map(projectMemories(project).map((m) => [m.id, m]));
    this.duplicates(workflow.schemas, 'schema');
    this.duplicates(workflow.agents, 'agent');
    this.duplicates(workflow.tools, 'tool');
    for (const s of workflow.schemas) this.jsonSchema(s, s.schema);
    this.schema(workflow.input, schemas);
    for (const trigger of workflow.triggers) {
      if (trigger.type === 'signal') this.schema(trigger.schema, schemas);
      else this.webhook(trigger, schemas);
    }
    this.scheduleInput(workflow, schemas);
    for (const tool of workflow.tools) this.tool(tool, schemas);
    for (const agent of workflow.agents) this.agent(agent, tools, schemas, memories);
    if (workflow.outputs) this.template(workflow, ['outputs'], workflow.outputs);
    const context = { schemas, agents, tools, memories };
    this.tasks(workflow.tasks, workflow.tasks, context);
    this.cycles(workflow);
  }

  /** A schedule's input is every scheduled run's input, so it must pass the workflow's config.input as an API start's would. */
  private scheduleInput(workflow: WorkflowConfig, schemas: ReadonlyMap<string, SchemaDefinition>): void {
    const { schedule, input } = workflow;
    if (!schedule || !input) return;
    const schema = input.kind === 'inline' ? input.schema : schemas.get(input.id)?.schema;
    if (!schema) return;
    let validate;
    try {
      validate = compiledSchema(schema);
    } catch {
      return; // an invalid schema is reported where it is declared (schema(), jsonSchema())
    }
    if (validate(schedule.input)) return;
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
    this.error(schedule, ['input'], `schedule.input does not match the workflow's input schema (config.input): ${problems}.`, 'Give the schedule the input a run of this workflow needs.');
  }

  /**
   * MCP servers share one id space across the project (serve connects each once): an id defined again
   * with other settings is refused, equal definitions are one server. An agent's `mcps: [<id>]` names
   * a declared one. env and header values are templates over .env.
   */
  mcpServers(project: ProjectConfig): void {
    const scoped = agentsWithMcpScope(project);
    const lists = [project.mcps, ...project.workflows.map((w) => w.mcps), ...scoped.map(({ agent }) => agent.mcps)];
    for (const list of lists) this.duplicates(list, 'MCP server');
    this.conflicts(lists, 'MCP server');
    const declared = projectMcpServers(project);
    const ids = new Set(declared.map((s) => s.id));
    for (const server of declared) {
      for (const [key, value] of Object.entries(server.env)) this.template(server, ['env', key], value);
      for (const [key, value] of Object.entries(server.headers)) this.template(server, ['headers', key], value);
    }
    for (const { agent } of scoped) {
      for (const ref of agent.mcpRefs) if (!ids.has(ref.id)) this.error(ref, [], `MCP server "${ref.id}" is not declared.`, suggestion(ref.id, ids, 'MCP server'));
    }
  }

  tool(tool: ToolConfig, schemas: ReadonlyMap<string, SchemaDefinition>): void {
    if (tool.id.startsWith('cp__')) this.error(tool, ['id'], `Tool id "${tool.id}" uses the prefix cp__, which is reserved for the built-in tools.`, 'Rename the tool (and the export in the entrypoint).');
    this.schema(tool.input, schemas);
    this.schema(tool.output, schemas);
    this.duration(tool, ['timeout'], tool.timeout);
  }

  agent(agent: AgentConfig, tools: ReadonlyMap<string, ToolConfig>, schemas: ReadonlyMap<string, SchemaDefinition>, memories: ReadonlyMap<string, MemoryResource>): void {
    this.duplicates(agent.actions, 'action');
    agent.tools.forEach((id, i) => {
      this.toolRef(agent, ['tools', i], id, tools);
    });
    for (const memory of agent.memory) {
      const resource = memories.get(memory.id);
      if (!resource) this.error(memory, ['id'], `Memory "${memory.id}" does not exist.`, suggestion(memory.id, memories.keys(), 'memory'));
      else if (memory.key === undefined && resource.key === undefined) {
        this.error(memory, [], `Agent "${agent.id}" memory "${memory.id}" has no key, and the memory resource has no key to fall back on.`, 'Add key: "user:{{ .workflow.input.user_id }}" to the memory reference, or to the memory resource.');
      }
    }
    this.template(agent, ['instructions'], agent.instructions);
    for (const action of agent.actions) {
      this.schema(action.input, schemas);
      this.schema(action.output, schemas);
      this.template(action, ['prompt'], action.prompt);
    }
  }

  private tasks(list: readonly TaskConfig[], scope: readonly TaskConfig[], ctx: TaskScope): void {
    this.duplicates(list.filter((t) => t.id !== ''), 'task');
    const ids = new Set(scope.map((t) => t.id));
    const next = (task: TaskConfig, path: YamlPath, id: string | undefined) => {
      if (id !== undefined && !id.includes('{{') && !ids.has(id)) this.error(task, path, `Task "${id}" does not exist.`, suggestion(id, ids, 'task'));
    };
    for (const task of list) {
      next(task, ['on_success', 'next'], task.onSuccess?.next);
      next(task, ['on_error', 'next'], task.onError?.next);
      if (task.type === 'wait') next(task, ['on_timeout'], task.onTimeout);
      if (task.final && task.onSuccess?.next) this.error(task, ['final'], `Task "${task.id}" is final but has on_success.next.`, 'Remove final: true or the next.');
      if (task.type === 'basic') this.basic(task, ctx);
      this.schema(task.input, ctx.schemas);
      this.schema(task.output, ctx.schemas);
      if ('timeout' in task) this.duration(task, ['timeout'], task.timeout);
      this.duration(task, ['sleep'], task.sleep);
      this.template(task, ['with'], task.with);
      this.template(task, ['outputs'], task.outputs);
      this.typeRules(task, ids, ctx);
      // A parent's tasks see each other; a collection's template, a processor and an inline route see the parent's scope.
      const siblings = task.type === 'parallel' || task.type === 'composite' ? task.tasks : task.type === 'collection' ? (task.tasks ?? []) : [];
      if (siblings.length > 0) this.tasks(siblings, [...scope, ...siblings], ctx);
      const alone = childTasks(task).filter((child) => !siblings.includes(child));
      if (alone.length > 0) this.tasks(alone, scope, ctx);
    }
  }

  /** A basic task runs an agent (with an action or a prompt), a tool, or a direct prompt, and what it names exists. */
  private basic(task: BasicTaskConfig, ctx: TaskScope): void {
    if (task.agent !== undefined && task.tool !== undefined) this.error(task, ['tool'], `Task "${task.id}" has both an agent and a tool.`, 'A basic task runs an agent or a tool, not both: split it into two tasks.');
    // Reference engine/task/validators.go: action (and, per the docs, prompt) is not allowed with a tool; the tool call would drop them.
    if (task.tool !== undefined && task.agent === undefined) {
      for (const field of ['action', 'prompt', 'model'] as const) {
        if (task[field] !== undefined) this.error(task, [field], `Task "${task.id}" runs a tool, which takes no ${field}.`, `Remove ${field}:, or run an agent instead of the tool.`);
      }
    }
    if (task.agent !== undefined && task.action !== undefined && task.prompt !== undefined) this.error(task, ['prompt'], `Task "${task.id}" has both an action and a prompt; the action's prompt is the one sent.`, 'Keep one: action: (the agent action\'s prompt) or prompt: (an ad-hoc prompt to the agent).');
    const agent = typeof task.agent === 'string' ? ctx.agents.get(task.agent) : task.agent;
    // A templated id (agent: "{{ .workflow.input.agent }}") is checked as a template here and against the declared ids once rendered (engine/tasks/basic.ts).
    const agentTemplated = typeof task.agent === 'string' && this.templatedId(task, ['agent'], task.agent);
    const actionTemplated = task.action !== undefined && this.templatedId(task, ['action'], task.action);
    if (typeof task.agent === 'string' && !agent && !agentTemplated) this.error(task, ['agent'], `Agent "${task.agent}" does not exist.`, suggestion(task.agent, ctx.agents.keys(), 'agent'));
    if (typeof task.agent === 'object') this.agent(task.agent, ctx.tools, ctx.schemas, ctx.memories);
    if (task.action !== undefined) {
      if (!agent && task.agent === undefined) this.error(task, ['action'], `Task "${task.id}" names an action but no agent.`, 'Add agent: <id>.');
      else if (agent && !actionTemplated && !agent.actions.some((a) => a.id === task.action)) {
        this.error(task, ['action'], `Agent "${agent.id}" has no action "${task.action}".`, suggestion(task.action, agent.actions.map((a) => a.id), 'action'));
      }
    }
    if (typeof task.tool === 'string' && !this.templatedId(task, ['tool'], task.tool)) this.toolRef(task, ['tool'], task.tool, ctx.tools);
    if (typeof task.tool === 'object') this.tool(task.tool, ctx.schemas);
    this.template(task, ['prompt'], task.prompt);
  }

  /** Whether an id is a template (then its syntax is checked here); a plain id is looked up by the caller. */
  private templatedId(task: TaskConfig, path: YamlPath, id: string): boolean {
    if (!id.includes('{{')) return false;
    this.template(task, path, id);
    return true;
  }

  /** A webhook's event filters are CEL over {payload, headers, query}; its inputs templates over {payload}. */
  private webhook(trigger: WebhookTrigger, schemas: ReadonlyMap<string, SchemaDefinition>): void {
    trigger.events.forEach((event, i) => {
      try {
        compileCel(event.filter);
      } catch (error) {
        this.error(trigger, ['webhook', 'events', i, 'filter'], (error as CompozyError).message, (error as CompozyError).hint);
      }
      this.template(trigger, ['webhook', 'events', i, 'input'], event.input);
      this.schema(event.schema, schemas);
    });
  }

  /** Each webhook slug is one URL, so it may belong to one trigger in the whole project. */
  webhookSlugs(project: ProjectConfig): void {
    const seen = new Map<string, string>();
    for (const workflow of project.workflows) {
      for (const trigger of workflow.triggers) {
        if (trigger.type !== 'webhook') continue;
        const first = seen.get(trigger.slug);
        if (first !== undefined) this.error(trigger, ['webhook', 'slug'], `Webhook slug "${trigger.slug}" is already used by workflow ${first}.`, 'Give each webhook its own slug: it is the URL /api/v0/hooks/<slug>.');
        else seen.set(trigger.slug, workflow.id);
      }
    }
  }

  /** A CEL expression written without templates must parse; templated ones are checked once rendered. */
  private celSyntax(task: TaskConfig, field: string, expression: string | undefined): void {
    if (expression === undefined || expression.includes('{{')) return;
    try {
      compileCel(expression);
    } catch (error) {
      this.error(task, [field], (error as CompozyError).message, (error as CompozyError).hint);
    }
  }

  private typeRules(task: TaskConfig, ids: ReadonlySet<string>, ctx: { memories: ReadonlyMap<string, MemoryResource> }): void {
    const need = (ok: boolean, field: string, message: string, hint: string) => {
      if (!ok) this.error(task, [], message.replace('%s', task.id), hint.replace('%f', field));
    };
    switch (task.type) {
      case 'basic':
        need(task.agent !== undefined || task.tool !== undefined || task.prompt !== undefined, 'agent', 'Basic task "%s" has nothing to run.', 'Give it an agent (with an action or a prompt), a tool, or a prompt.');
        break;
      case 'router':
        need(task.condition !== undefined, 'condition', 'Router task "%s" has no condition.', 'Add condition: (a template or CEL expression).');
        need(Object.keys(task.routes).length > 0, 'routes', 'Router task "%s" has no routes.', 'Add routes: {key: task_id}.');
        for (const [key, target] of Object.entries(task.routes)) {
          if (typeof target === 'string' && !target.includes('{{') && !ids.has(target)) this.error(task, ['routes', key], `Route "${key}" goes to task "${target}", which does not exist.`, suggestion(target, ids, 'task'));
        }
        this.celSyntax(task, 'condition', task.condition);
        break;
      case 'parallel':
      case 'composite':
        need(task.tasks.length > 0, 'tasks', `${task.type === 'parallel' ? 'Parallel' : 'Composite'} task "%s" has no tasks.`, 'Add tasks: [...].');
        break;
      case 'collection':
        need(task.items !== undefined, 'items', 'Collection task "%s" has no items.', 'Add items: "{{ .tasks.x.output.list }}" (or a list).');
        need(task.task !== undefined || (task.tasks?.length ?? 0) > 0, 'task', 'Collection task "%s" has no task to run per item.', 'Add task: {...} (ids may use {{ .index }}).');
        // Reference engine/task/validators.go: one of task and tasks; batch sizes sequential runs only.
        if (task.task !== undefined && task.tasks !== undefined) this.error(task, ['tasks'], `Collection task "${task.id}" has both task: and tasks:.`, 'Keep one: task: (one template per item) or tasks: (several per item).');
        if (task.batch !== undefined && task.mode !== 'sequential') {
          this.error(task, ['batch'], `Collection task "${task.id}" has batch: but runs in ${task.mode ?? 'parallel'} mode, where batch does nothing.`, 'Add mode: sequential (batch is how many items run at once), or remove batch: and use max_workers.');
        }
        this.template(task, ['items'], task.items);
        this.celSyntax(task, 'filter', task.filter);
        break;
      case 'signal':
        need(task.signal !== undefined && task.signal.id !== '', 'signal', 'Signal task "%s" has no signal id.', 'Add signal: {id: <event name>, payload: {...}}.');
        this.template(task, ['signal', 'payload'], task.signal?.payload);
        break;
      case 'wait':
        need(task.waitFor !== undefined, 'wait_for', 'Wait task "%s" has no wait_for.', 'Add wait_for: <signal name>.');
        need(task.condition !== undefined, 'condition', 'Wait task "%s" has no condition.', 'Add condition: a CEL expression over signal and processor, e.g. signal.payload.status == "ready".');
        this.celSyntax(task, 'condition', task.condition);
        break;
      case 'memory':
        need(task.operation !== undefined, 'operation', 'Memory task "%s" has no operation.', 'Add operation: read | write | append | delete | flush | health | clear | stats.');
        need(task.memoryRef !== undefined, 'memory_ref', 'Memory task "%s" has no memory_ref.', 'Add memory_ref: <memory id>.');
        if (task.memoryRef !== undefined) {
          // Reference §5.1: the resource's key is the default key template; key_template overrides it.
          const resource = ctx.memories.get(task.memoryRef);
          if (!resource) this.error(task, ['memory_ref'], `Memory "${task.memoryRef}" does not exist.`, suggestion(task.memoryRef, ctx.memories.keys(), 'memory'));
          else if (task.keyTemplate === undefined && resource.key === undefined) {
            this.error(task, [], `Memory task "${task.id}" has no key_template, and memory "${task.memoryRef}" has no key to fall back on.`, 'Add key_template: "user:{{ .workflow.input.user_id }}" to the task, or key: to the memory resource.');
          }
        }
        this.template(task, ['key_template'], task.keyTemplate);
        this.template(task, ['payload'], task.payload);
        if (task.operation && !(MEMORY_OPERATIONS as readonly string[]).includes(task.operation)) {
          this.error(task, ['operation'], `Unknown memory operation "${task.operation}".`, suggestion(task.operation, MEMORY_OPERATIONS, 'operation'));
        }
        if ((task.operation === 'write' || task.operation === 'append') && task.payload === undefined) {
          this.error(task, [], `Memory task "${task.id}" (${task.operation}) has no payload.`, 'Add payload: {role: user, content: "…"} (or a list of messages).');
        }
        if (task.operation === 'clear' && task.memoryOptions?.clear?.confirm !== true) {
          this.error(task, ['clear_config'], `Memory task "${task.id}" clears a memory without clear_config.confirm: true.`, 'Clearing is destructive: add clear_config: {confirm: true}.');
        }
        break;
      case 'aggregate':
        need(task.outputs !== undefined, 'outputs', 'Aggregate task "%s" has no outputs.', 'Add outputs: {key: template}.');
        break;
    }
  }

  /**
   * Task resources as they also run on their own (POST /api/v0/tasks/:id/executions): what one names
   * may be declared by the project or by any workflow. One a workflow uses was checked there as well;
   * a diagnostic already made there is not repeated.
   */
  taskResources(project: ProjectConfig): void {
    if (project.tasks.length === 0) return;
    const byId = <T extends { id: string }>(own: readonly T[], of: (w: WorkflowConfig) => readonly T[]) => new Map([...project.workflows.flatMap(of), ...own].map((item) => [item.id, item]));
    const context = {
      schemas: byId(project.schemas, (w) => w.schemas),
      agents: byId(project.agents, (w) => w.agents),
      tools: byId(project.tools, (w) => w.tools),
      memories: new Map(projectMemories(project).map((m) => [m.id, m])),
    };
    const scope = [...project.workflows.flatMap((w) => w.tasks), ...project.tasks];
    const before = this.diagnostics.splice(0);
    for (const task of project.tasks) this.tasks([task], scope, context);
    const seen = new Set(before.map((d) => `${d.file}:${d.line}:${d.col}:${d.message}`));
    const fresh = this.diagnostics.splice(0).filter((d) => !seen.has(`${d.file}:${d.line}:${d.col}:${d.message}`) && seen.add(`${d.file}:${d.line}:${d.col}:${d.message}`));
    this.diagnostics.push(...before, ...fresh);
  }

  /** Top-level tasks from which no path leads to a task without a successor: once entered, the run never ends. */
  private cycles(workflow: WorkflowConfig): void {
    const byId = new Map(workflow.tasks.map((t) => [t.id, t]));
    const successors = (task: TaskConfig): string[] =>
      [task.onSuccess?.next, task.onError?.next, task.type === 'wait' ? task.onTimeout : undefined, ...(task.type === 'router' ? Object.values(task.routes) : []).map((r) => (typeof r === 'string' ? r : undefined))].filter(
        (id): id is string => id !== undefined && byId.has(id),
      );
    const canEnd = new Set<string>();
    let changed = true;
    while (changed) {
      changed = false;
      for (const task of workflow.tasks) {
        if (canEnd.has(task.id)) continue;
        const next = successors(task);
        // Routes with inline tasks end there; a task with no successor ends the run.
        const inlineRoute = task.type === 'router' && Object.values(task.routes).some((r) => typeof r !== 'string');
        if (next.length === 0 || inlineRoute || next.some((id) => canEnd.has(id))) {
          canEnd.add(task.id);
          changed = true;
        }
      }
    }
    const reported = new Set<string>();
    for (const task of workflow.tasks) {
      if (canEnd.has(task.id) || reported.has(task.id)) continue;
      const loop: string[] = [task.id];
      for (let id = successors(task)[0]; id && !loop.includes(id); id = successors(byId.get(id) as TaskConfig)[0]) loop.push(id);
      loop.forEach((id) => reported.add(id));
      this.error(task, ['id'], `Task "${task.id}" is in a cycle that can never end (${[...loop, loop[0]].join(' → ')}).`, 'Give one task in the loop a way out: an on_error.next, a route or a next outside the loop.');
    }
  }
}

/** Every problem in a loaded project, each pointing at its file, line and column. */
export function validateProject(project: ProjectConfig): ConfigDiagnostic[] {
  const v = new Validator();
  v.nativeTools = project.runtime.nativeTools;
  v.duplicates(project.workflows, 'workflow');
  v.duplicates(project.schemas, 'schema');
  v.duplicates(project.agents, 'agent');
  v.duplicates(project.tools, 'tool');
  v.duplicates(projectMemories(project), 'memory');
  const inline = (workflow: WorkflowConfig) => {
    const found = { tools: [] as ToolConfig[], agents: [] as AgentConfig[] };
    const visit = (task: TaskConfig): void => {
      if (task.type === 'basic' && typeof task.tool === 'object') found.tools.push(task.tool);
      if (task.type === 'basic' && typeof task.agent === 'object') found.agents.push(task.agent);
      childTasks(task).forEach(visit);
    };
    workflow.tasks.forEach(visit);
    return found;
  };
  const inlined = project.workflows.map(inline);
  // Each inline definition is a scope of its own: two tasks may not define one id two ways either.
  v.conflicts([project.tools, ...project.workflows.flatMap((w, i) => [w.tools, ...(inlined[i]?.tools ?? []).map((t) => [t])])], 'tool');
  v.conflicts([project.agents, ...project.workflows.flatMap((w, i) => [w.agents, ...(inlined[i]?.agents ?? []).map((a) => [a])])], 'agent');
  for (const s of project.schemas) v.jsonSchema(s, s.schema);
  const defaults = project.models.filter((m) => m.isDefault);
  for (const extra of defaults.slice(1)) v.error(extra, ['default'], 'More than one model is marked default: true.', 'Keep default: true on one model.');
  const schemas = new Map(project.schemas.map((s) => [s.id, s]));
  const tools = new Map(project.tools.map((t) => [t.id, t]));
  const memories = new Map(projectMemories(project).map((m) => [m.id, m]));
  for (const tool of project.tools) v.tool(tool, schemas);
  for (const agent of project.agents) v.agent(agent, tools, schemas, memories);
  for (const memory of projectMemories(project)) v.template(memory, ['key'], memory.key);
  for (const workflow of project.workflows) v.workflow(project, workflow);
  v.webhookSlugs(project);
  v.mcpServers(project);
  v.taskResources(project);
  for (const model of project.models) v.model(model);
  for (const use of modelUses(project)) v.modelRef(use, project.models);
  return v.diagnostics;
}

/** Diagnostics in reading order: by file, then line, then column. */
export function sortDiagnostics(diagnostics: readonly ConfigDiagnostic[]): ConfigDiagnostic[] {
  return [...diagnostics].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
