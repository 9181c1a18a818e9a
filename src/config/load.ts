import { existsSync, globSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { appKeyDiagnostics } from './app-keys.js';
import { projectFile } from './project.js';
import { isValidDuration, parseDuration } from './duration.js';
import { memorySources, readMemoryResource } from './memory-resource.js';
import { readMcpServers } from './mcp-servers.js';
import { readNativeTools } from './native-tools.js';
import { readSchedule } from './schedule.js';
import { MODEL_PARAMS } from './providers.js';
import { defined, isObj, Reader, suggestion, type Obj } from './read.js';
import { evaluateRef, parseRef, refCollection, refIsMulti, type RefExpression, type RefMatch } from './refs.js';
import {
  MEMORY_FLUSH_STRATEGIES,
  MEMORY_OPERATION_LIMITS,
  TASK_STRATEGIES,
  TASK_TYPES,
  taskFields,
  taskTypesWithField,
  type ActionConfig,
  type AgentConfig,
  type McpServerRef,
  type MemoryFlushStrategy,
  type MemoryRef,
  type MemoryTaskOptions,
  type MemoryResource,
  type ExecutionOptions,
  type ModelConfig,
  type ProjectConfig,
  type SchemaDefinition,
  type SchemaRef,
  type TaskConfig,
  type TaskConfigBase,
  type TaskStrategy,
  type TaskType,
  type ToolConfig,
  type Transition,
  type Trigger,
  type WebhookEvent,
  type WebhookStrategy,
  type WebhookTrigger,
  type WorkflowConfig,
} from './types.js';
import { YamlFile, type ConfigDiagnostic, type YamlPath } from './yaml-file.js';
import { TaskResources, taskReference, taskSources } from './task-resources.js';

/** Refusal hints several of the tables below give. */
const noKnowledge = (key: string) => `Knowledge bases (retrieval) are not implemented: remove ${key}:.`;
const NO_ATTACHMENTS = 'Attachments are not implemented: remove attachments: and pass the content through the prompt.';

/** Task fields of the reference that nothing here runs yet, refused by name with what to do instead. */
const UNSUPPORTED_TASK_FIELDS: Readonly<Record<string, string>> = {
  attachments: 'Attachments (images, files, URLs for the model) are not implemented: remove attachments: and pass the content through with: or the prompt.',
  knowledge: noKnowledge('knowledge'),
};

const SIGNAL_FIELDS = new Set(['id', 'payload']);
const TRANSITION_FIELDS = new Set(['next', 'with']);
const TOOL_FIELDS = new Set(['id', 'resource', 'description', 'input', 'output', 'with', 'config', 'env', 'timeout']);
const UNSUPPORTED_TOOL_FIELDS = { cwd: 'Tools run in the project directory; remove cwd:.' };
const AGENT_FIELDS = new Set(['id', 'resource', 'description', 'model', 'config', 'instructions', 'tools', 'mcps', 'actions', 'memory', 'max_iterations', 'json_mode']);
const UNSUPPORTED_AGENT_FIELDS = {
  knowledge: noKnowledge('knowledge'),
  attachments: NO_ATTACHMENTS,
  with: 'An agent has no input of its own here: give the values in the task with:, which the action prompt reads as .input.',
  env: 'Agents read the workflow and task env: move these variables to the task or workflow env:.',
};
const ACTION_FIELDS = new Set(['id', 'prompt', 'input', 'output', 'json_mode']);
const UNSUPPORTED_ACTION_FIELDS = {
  attachments: NO_ATTACHMENTS,
  with: 'An action has no input of its own here: give the values in the task with:, which the prompt reads as .input.',
};
const WORKFLOW_FIELDS = new Set(['id', 'resource', 'version', 'description', 'author', 'schemas', 'config', 'tools', 'agents', 'mcps', 'tasks', 'triggers', 'outputs', 'resources', 'schedule']);
const UNSUPPORTED_WORKFLOW_FIELDS = {
  knowledge: noKnowledge('knowledge'),
  knowledge_bases: noKnowledge('knowledge_bases'),
  memories: 'Declare the memories this workflow uses under resources.memories: [{id, source}], or autoload memory/*.yaml.',
};
const TRIGGER_FIELDS = new Set(['type', 'name', 'schema']);
const WEBHOOK_TRIGGER_FIELDS = new Set(['type', 'webhook']);
const WEBHOOK_FIELDS = new Set(['slug', 'method', 'events', 'verify']);
const WEBHOOK_EVENT_FIELDS = new Set(['name', 'filter', 'input', 'schema']);
const WEBHOOK_VERIFY_FIELDS = new Set(['strategy', 'secret', 'header', 'skew']);
/** Stripe's own default tolerance on a signature's timestamp (and the reference's). */
export const STRIPE_DEFAULT_SKEW_MS = 5 * 60_000;
const WEBHOOK_METHODS = ['POST', 'PUT', 'PATCH'] as const;
const WEBHOOK_STRATEGIES = ['none', 'hmac', 'stripe', 'github'] as const;
/** `config:` of the project, a workflow or a task: retry and timeout options (a workflow's also has input and env). */
const EXECUTION_FIELDS = ['start_to_close_timeout', 'schedule_to_close_timeout', 'heartbeat_timeout', 'retry_policy'];
const UNSUPPORTED_EXECUTION_FIELDS = {
  schedule_to_start_timeout: 'Activities start on the worker that schedules them here; remove schedule_to_start_timeout:.',
  on_error: 'Give the task on_error: {next: <task id>} instead.',
  global: 'Write the options directly under config: (start_to_close_timeout, retry_policy, …).',
};
const UNSUPPORTED_PROJECT_CONFIG_FIELDS = {
  env: "Put the project's variables in its .env file, or in a workflow's config.env.",
  schema_filename: 'Schemas are read from schemas: in compozy.yaml and the workflow files; remove schema_filename:.',
};
/** runtime: in compozy.yaml; tool_execution_timeout and pool_size are read by the app settings (settings.ts). */
const RUNTIME_FIELDS = new Set(['type', 'entrypoint', 'permissions', 'bun_permissions', 'bun_bin', 'tool_execution_timeout', 'pool_size', 'native_tools']);
/** The project fields this loader reads; the app settings' keys are settings.ts's, and any other key is refused (app-keys.ts). */
const PROJECT_FIELDS = ['name', 'version', 'description', 'author', 'workflows', 'models', 'schemas', 'mcps', 'config', 'runtime', 'autoload'];
/** Project fields of the reference that nothing here reads. */
const UNSUPPORTED_PROJECT_FIELDS = {
  tasks: 'Write each reusable task in tasks/<id>.yaml (resource: task, autoloaded) or a workflow\'s resources.tasks, and use it with task: <id>.',
  tools: 'Declare tools in a workflow (tools:) or in autoloaded tools/*.yaml (resource: tool).',
  agents: 'Declare agents in a workflow (agents:) or in autoloaded agents/*.yaml (resource: agent).',
  memories: 'Declare memories in autoloaded memory/*.yaml (resource: memory) or a workflow\'s resources.memories.',
  knowledge_bases: noKnowledge('knowledge_bases'),
  embedders: noKnowledge('embedders'),
  vector_dbs: noKnowledge('vector_dbs'),
  monitoring: 'There is no /metrics endpoint: remove monitoring:.',
  cache: 'compozy keeps no response cache: remove cache:.',
};
const MODEL_FIELDS = new Set(['provider', 'model', 'api_key', 'api_url', 'default', 'params']);
const UNSUPPORTED_MODEL_FIELDS = { organization: 'The OpenAI organization header is not sent: remove organization: (the key decides the organization).' };
/** The reference's model params (§1.2) the AI SDK call does not take. */
const UNSUPPORTED_MODEL_PARAMS = Object.fromEntries(
  ['min_length', 'max_length', 'repetition_penalty', 'n', 'candidate_count', 'metadata'].map((name) => [name, `Not passed to the model; the params that are: ${Object.keys(MODEL_PARAMS).join(', ')}.`]),
);
const AUTOLOAD_FIELDS = new Set(['enabled', 'include', 'exclude', 'strict']);
const UNSUPPORTED_AUTOLOAD_FIELDS = { watch_interval: 'Autoloaded files are read when the project loads (restart compozy dev after changing them); remove watch_interval:.' };
const RETRY_POLICY_FIELDS = new Set(['initial_interval', 'backoff_coefficient', 'maximum_attempts', 'maximum_interval', 'non_retryable_error_types']);

/** A task's type and the fields of that type, without the common ones. */
type OwnTaskFields = TaskConfig extends infer C ? (C extends TaskConfig ? Omit<C, Exclude<keyof TaskConfigBase<TaskType>, 'type'>> : never) : never;

export interface LoadResult {
  project: ProjectConfig | undefined;
  diagnostics: ConfigDiagnostic[];
}

/** The reference key a mapping holds (`$use` before `$ref`), or undefined when it is not a reference. */
function refKey(value: unknown): '$use' | '$ref' | undefined {
  if (!isObj(value)) return undefined;
  return value.$use !== undefined ? '$use' : value.$ref !== undefined ? '$ref' : undefined;
}

/** A mapping with a `$use` or a `$ref`. */
function isRef(value: unknown): value is Obj {
  return refKey(value) !== undefined;
}

/** "a basic task", "an aggregate task". */
function aTask(type: TaskType): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} task`;
}

class Loader {
  readonly diagnostics: ConfigDiagnostic[] = [];
  private readonly taskResources = new TaskResources(this);
  /** compozy.yaml, which `global::` references read. */
  private globalFile: YamlFile | undefined;
  /** The models of compozy.yaml, read once; a reference to one gets the same object. */
  private globalModels: ModelConfig[] = [];

  /**
   * What the `$ref` / `$use` of `holder` reaches (refs.ts): undefined when it has neither; a malformed
   * reference, a kind or collection other than `allowed`, or one that reaches nothing is a diagnostic.
   * A query on `id` that matches nothing in its file still names that id (`lenientId`), which the
   * validator then looks up among every declared one.
   */
  private ref(r: Reader, holder: Obj, path: YamlPath, allowed: readonly string[], lenientId = false): { expr: RefExpression; key: string; file: YamlFile; matches: RefMatch[]; id?: string } | undefined {
    const key = refKey(holder);
    if (key === undefined) return undefined;
    const text = holder[key];
    const expr = typeof text === 'string' ? parseRef(text) : undefined;
    const forms = `${allowed.map((c) => `global::${c}.#(id=="x")`).join(', ')} (gjson paths: keys, indexes, #(field=="v") for the first match, #(field=="v")# for all)`;
    if (!expr) {
      r.error([...path, key], `${JSON.stringify(text)} is not a reference this loader reads.`, `Write it like ${forms}.`);
      return undefined;
    }
    const collection = refCollection(expr);
    if (collection === undefined || !allowed.includes(collection) || (expr.kind !== undefined && !allowed.includes(`${expr.kind}s`))) {
      r.error([...path, key], `${key} ${JSON.stringify(text)} names ${expr.kind ? `a ${expr.kind} in ` : ''}${collection ?? 'no collection'}; here it may name ${allowed.join(' or ')}.`, `Write it like ${forms}.`);
      return undefined;
    }
    const file = expr.scope === 'global' ? this.globalFile : r.file;
    if (!file) {
      r.error([...path, key], `${key} ${JSON.stringify(text)} reads compozy.yaml, which is not loaded here.`, 'Load the file through its project.');
      return undefined;
    }
    const matches = evaluateRef(expr, file.data);
    const last = expr.segments.at(-1);
    const id = last?.type === 'query' && last.field === 'id' && last.op === '==' && typeof last.value === 'string' && expr.segments.length === 2 ? last.value : undefined;
    if (matches.length === 0 && !(lenientId && id !== undefined)) {
      r.error([...path, key], `${key} ${JSON.stringify(text)} matches nothing in ${file.path}.`, `Check the ${collection} declared there.`);
      return undefined;
    }
    return { expr, key, file, matches, ...(id !== undefined ? { id } : {}) };
  }

  /** The ids a `$ref`/`$use` of tools, agents or schemas names: each match's `id` (several after `#(…)#`). */
  private refIds(r: Reader, holder: Obj, path: YamlPath, allowed: readonly string[], multi = false): string[] | undefined {
    const found = this.ref(r, holder, path, allowed, true);
    if (!found) return undefined;
    if (refIsMulti(found.expr) && !multi) {
      r.error([...path, found.key], `${found.key} ${JSON.stringify(holder[found.key])} may match several; here it must name one.`, 'Use #(field=="v") (first match) instead of #(field=="v")#.');
      return undefined;
    }
    if (found.matches.length === 0) return found.id === undefined ? undefined : [found.id];
    const ids = found.matches.map((match) => (isObj(match.value) && typeof match.value.id === 'string' ? match.value.id : undefined));
    if (ids.some((id) => id === undefined)) {
      r.error([...path, found.key], `${found.key} ${JSON.stringify(holder[found.key])} reaches a value without an id.`, 'Reference the entry itself, e.g. local::tools.#(id=="x").');
      return undefined;
    }
    return ids as string[];
  }

  /** A model given by reference (`$ref: global::models.#(provider=="groq")`): the declared model it reaches, read where it is declared. */
  private modelRef(r: Reader, holder: Obj, path: YamlPath): ModelConfig | undefined {
    const found = this.ref(r, holder, path, ['models']);
    if (!found) return undefined;
    if (refIsMulti(found.expr) || found.matches.length !== 1 || !isObj(found.matches[0]?.value)) {
      const reached = refIsMulti(found.expr) ? 'a list (#(…)# takes every match)' : JSON.stringify(found.matches[0]?.value);
      r.error([...path, found.key], `${found.key} ${JSON.stringify(holder[found.key])} must reach one model (provider, model, …), not ${reached}.`, 'Reference one entry of models:, e.g. global::models.#(provider=="openai").');
      return undefined;
    }
    const match = found.matches[0] as RefMatch;
    const declared = found.file === this.globalFile ? this.globalModels.find((m) => m.path.join('.') === match.path.join('.')) : undefined;
    return declared ?? this.model(new Reader(found.file, this.diagnostics), match.value as Obj, match.path);
  }

  open(path: string): YamlFile | undefined {
    const file = YamlFile.read(path);
    this.diagnostics.push(...file.syntaxErrors);
    if (file.syntaxErrors.length > 0) return undefined;
    if (!isObj(file.data)) {
      this.diagnostics.push(file.diagnostic([], 'The file must hold a mapping.', 'Start it with a key such as id: or name:.'));
      return undefined;
    }
    return file;
  }

  schemaRef(r: Reader, obj: Obj, path: YamlPath, key: string): SchemaRef | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    const at = { file: r.file, path: [...path, key] };
    if (typeof value === 'string') return { kind: 'id', id: value, at };
    if (isRef(value)) {
      const id = this.refIds(r, value, [...path, key], ['schemas'])?.[0];
      return id === undefined ? undefined : { kind: 'id', id, at };
    }
    if (isObj(value)) return { kind: 'inline', schema: value, at };
    r.error([...path, key], `"${key}" must be a schema id or a JSON Schema object.`);
    return undefined;
  }

  schemas(r: Reader, obj: Obj, path: YamlPath): SchemaDefinition[] {
    return r.list(obj, path, 'schemas').flatMap((raw, i) => {
      const at = [...path, 'schemas', i];
      if (!isObj(raw)) {
        r.error(at, 'A schema must be a mapping with an id.');
        return [];
      }
      const id = r.string(raw, at, 'id', true);
      return id ? [{ file: r.file, path: at, id, schema: raw }] : [];
    });
  }

  model(r: Reader, raw: Obj, path: YamlPath): ModelConfig | undefined {
    r.knownKeys(raw, path, MODEL_FIELDS, 'model', UNSUPPORTED_MODEL_FIELDS);
    const params = r.map(raw, path, 'params');
    r.knownKeys(params, [...path, 'params'], new Set(Object.keys(MODEL_PARAMS)), 'params', UNSUPPORTED_MODEL_PARAMS);
    const provider = r.string(raw, path, 'provider', true);
    const model = r.string(raw, path, 'model', true);
    if (!provider || !model) return undefined;
    const apiKey = r.string(raw, path, 'api_key');
    const apiUrl = r.string(raw, path, 'api_url');
    return { file: r.file, path, provider, model, ...(apiKey ? { apiKey } : {}), ...(apiUrl ? { apiUrl } : {}), isDefault: r.bool(raw, path, 'default'), params };
  }

  tool(r: Reader, raw: Obj, path: YamlPath): ToolConfig | undefined {
    r.knownKeys(raw, path, TOOL_FIELDS, 'tool', UNSUPPORTED_TOOL_FIELDS);
    const id = r.string(raw, path, 'id', true);
    if (!id) return undefined;
    const input = this.schemaRef(r, raw, path, 'input');
    const output = this.schemaRef(r, raw, path, 'output');
    const description = r.string(raw, path, 'description');
    const timeout = r.string(raw, path, 'timeout');
    return {
      file: r.file, path, id, with: r.map(raw, path, 'with'), config: r.map(raw, path, 'config'), env: r.stringMap(raw, path, 'env'),
      ...(input ? { input } : {}), ...(output ? { output } : {}), ...(description ? { description } : {}), ...(timeout ? { timeout } : {}),
    };
  }

  agent(r: Reader, raw: Obj, path: YamlPath): AgentConfig | undefined {
    r.knownKeys(raw, path, AGENT_FIELDS, 'agent', UNSUPPORTED_AGENT_FIELDS);
    if (raw.model !== undefined && raw.config !== undefined) r.error([...path, 'config'], 'An agent has both model: and config:, two ways of naming its model.', 'Keep one: model: provider:model (or a model id, or an inline model).');
    const id = r.string(raw, path, 'id', true);
    if (!id) return undefined;
    const actions = r.list(raw, path, 'actions').flatMap((item, i): ActionConfig[] => {
      const at = [...path, 'actions', i];
      if (!isObj(item)) {
        r.error(at, 'An action must be a mapping with id and prompt.');
        return [];
      }
      r.knownKeys(item, at, ACTION_FIELDS, 'action', UNSUPPORTED_ACTION_FIELDS);
      const actionId = r.string(item, at, 'id', true);
      const prompt = r.string(item, at, 'prompt', true);
      if (!actionId || prompt === undefined) return [];
      const input = this.schemaRef(r, item, at, 'input');
      const output = this.schemaRef(r, item, at, 'output');
      return [{ file: r.file, path: at, id: actionId, prompt, jsonMode: r.bool(item, at, 'json_mode') || output !== undefined, ...(input ? { input } : {}), ...(output ? { output } : {}) }];
    });
    const memory = r.list(raw, path, 'memory').flatMap((item, i): MemoryRef[] => {
      const at = [...path, 'memory', i];
      if (typeof item === 'string') return [{ file: r.file, path: at, id: item, mode: 'read-write' }];
      if (!isObj(item)) {
        r.error(at, 'A memory reference is an id or {id, key, mode}.');
        return [];
      }
      const memoryId = r.string(item, at, 'id', true);
      const mode = r.string(item, at, 'mode') ?? 'read-write';
      if (mode !== 'read-write' && mode !== 'read-only') r.error([...at, 'mode'], `Memory mode must be read-write or read-only, not "${mode}".`);
      const key = r.string(item, at, 'key');
      return memoryId ? [{ file: r.file, path: at, id: memoryId, mode: mode === 'read-only' ? 'read-only' : 'read-write', ...(key ? { key } : {}) }] : [];
    });
    const tools = r.list(raw, path, 'tools').flatMap((item, i) => {
      if (typeof item === 'string') return [item];
      if (isRef(item)) return this.refIds(r, item, [...path, 'tools', i], ['tools'], true) ?? [];
      if (isObj(item) && typeof item.id === 'string') {
        // Only the id is read: an inline definition would be dropped, so it is refused.
        const extra = Object.keys(item).filter((key) => key !== 'id');
        if (extra.length > 0) r.error([...path, 'tools', i, extra[0] as string], `An agent's tools name tools by id; "${extra[0]}" of an inline tool would be ignored.`, 'Declare the tool under the workflow\'s tools: (or tools/*.yaml) and list its id here.');
        return [item.id];
      }
      r.error([...path, 'tools', i], 'A tool reference is a tool id.');
      return [];
    });
    const modelRaw = raw.model ?? raw.config;
    let model: string | ModelConfig | undefined;
    if (typeof modelRaw === 'string') model = modelRaw;
    else if (isObj(modelRaw)) {
      const at = [...path, raw.model !== undefined ? 'model' : 'config'];
      model = isRef(modelRaw) ? this.modelRef(r, modelRaw, at) : this.model(r, modelRaw, at);
    }
    const instructions = r.string(raw, path, 'instructions');
    const maxIterations = r.number(raw, path, 'max_iterations');
    const mcpRefs: McpServerRef[] = [];
    const mcps = readMcpServers(r, raw, path, mcpRefs);
    return {
      file: r.file, path, id, tools, mcps, mcpRefs, actions, memory, jsonMode: r.bool(raw, path, 'json_mode'),
      ...(model !== undefined ? { model } : {}), ...(instructions !== undefined ? { instructions } : {}), ...(maxIterations !== undefined ? { maxIterations } : {}),
    };
  }

  transition(r: Reader, raw: Obj, path: YamlPath, key: string): Transition | undefined {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    if (!isObj(value)) {
      r.error([...path, key], `"${key}" must be a mapping like {next: <task id>}.`);
      return undefined;
    }
    r.knownKeys(value, [...path, key], TRANSITION_FIELDS, key);
    const next = r.string(value, [...path, key], 'next');
    return { file: r.file, path: [...path, key], with: r.map(value, [...path, key], 'with'), ...(next ? { next } : {}) };
  }

  task(r: Reader, raw: unknown, path: YamlPath, inCollection = false): TaskConfig | undefined {
    const uses = taskReference(raw, inCollection);
    if (uses) return this.taskResources.site(r, raw, path, uses);
    if (!isObj(raw)) {
      r.error(path, 'A task must be a mapping with at least an id.');
      return undefined;
    }
    const id = r.string(raw, path, 'id', !inCollection) ?? (inCollection ? '' : undefined);
    const typeText = r.string(raw, path, 'type') ?? 'basic';
    const known = (TASK_TYPES as readonly string[]).includes(typeText);
    if (!known) r.error([...path, 'type'], `Unknown task type "${typeText}".`, suggestion(typeText, TASK_TYPES, 'task type'));
    const type = (known ? typeText : 'basic') as TaskType;
    this.taskKeys(r, raw, path, id ?? '', type, known);
    if (id === undefined) return undefined;
    const sleep = r.string(raw, path, 'sleep');
    const input = this.schemaRef(r, raw, path, 'input');
    const output = this.schemaRef(r, raw, path, 'output');
    const onSuccess = this.transition(r, raw, path, 'on_success');
    const onError = this.transition(r, raw, path, 'on_error');
    const base = {
      file: r.file, path, id, with: r.map(raw, path, 'with'), env: r.stringMap(raw, path, 'env'), final: r.bool(raw, path, 'final'),
      ...(input ? { input } : {}), ...(output ? { output } : {}),
      ...(raw.outputs !== undefined ? { outputs: r.map(raw, path, 'outputs') } : {}),
      ...(onSuccess ? { onSuccess } : {}), ...(onError ? { onError } : {}),
      ...(sleep !== undefined ? { sleep } : {}),
    };
    const use = this.taskUse(r, raw, path, type);
    const own = this.ownFields(r, raw, path, type, use);
    return { ...base, ...own };
  }

  /**
   * Every key of a task belongs to its type or to every type. A key of another type is refused naming
   * that type (the compile step would drop it), the reference's fields nothing runs yet are refused by
   * name, and anything else is an unknown field with the likely intended one.
   */
  private taskKeys(r: Reader, raw: Obj, path: YamlPath, id: string, type: TaskType, typeKnown: boolean): void {
    const allowed = taskFields(type);
    const task = id === '' ? 'this task' : `task "${id}"`;
    for (const key of Object.keys(raw)) {
      if (allowed.has(key)) continue;
      const unsupported = UNSUPPORTED_TASK_FIELDS[key];
      if (unsupported) {
        r.error([...path, key], `The task field "${key}" is not supported yet (${task}).`, unsupported);
        continue;
      }
      const owners = taskTypesWithField(key);
      if (owners.length === 0) r.error([...path, key], `Unknown task field "${key}".`, suggestion(key, allowed, 'task field'));
      else if (typeKnown) {
        const names = owners.length === 1 ? owners[0] : `${owners.slice(0, -1).join(', ')} and ${owners.at(-1)}`;
        r.error([...path, key], `Field "${key}" is not valid on ${aTask(type)} (${task}); it belongs to ${names} tasks.`, `Remove it, or make the task type: ${owners[0]}.`);
      }
    }
  }

  /** `$use` / `$ref` on a task: a tool or an agent of the project, which only a basic task runs. */
  private taskUse(r: Reader, raw: Obj, path: YamlPath, type: TaskType): { tool?: string; agent?: string } {
    const key = refKey(raw);
    if (key === undefined) return {};
    const collection = typeof raw[key] === 'string' ? (parseRef(raw[key]) ?? undefined) : undefined;
    const names = collection ? (refCollection(collection) ?? '') : '';
    if (collection && names !== 'tools' && names !== 'agents') {
      r.error([...path, key], `"${key}" names ${names || 'no collection'}; a task's ${key} may name a tool or an agent.`, 'Reference local::tools or local::agents, or write the task out.');
      return {};
    }
    const id = this.refIds(r, raw, path, ['tools', 'agents'])?.[0];
    if (id === undefined) return {};
    if (type !== 'basic') {
      r.error([...path, key], `Only basic tasks run ${names === 'tools' ? 'a tool' : 'an agent'}; this is ${aTask(type)}.`, `Remove ${key}, or make the task type: basic.`);
      return {};
    }
    return names === 'tools' ? { tool: id } : { agent: id };
  }

  /** A basic task's `model:` (a string) or `model_config:` (an inline model, or a `$ref` to a declared one); not both. */
  private taskModel(r: Reader, raw: Obj, path: YamlPath): string | ModelConfig | undefined {
    if (raw.model !== undefined && raw.model_config !== undefined) {
      r.error([...path, 'model_config'], 'The task has both model: and model_config:, two ways of naming its model.', 'Keep one.');
      return undefined;
    }
    if (raw.model_config !== undefined) {
      const config = raw.model_config;
      const at = [...path, 'model_config'];
      if (!isObj(config)) {
        r.error(at, 'model_config must be a model (provider, model, api_key, params, …) or {$ref: global::models.#(…)}.');
        return undefined;
      }
      return isRef(config) ? this.modelRef(r, config, at) : this.model(r, config, at);
    }
    if (raw.model !== undefined && typeof raw.model !== 'string') r.error([...path, 'model'], 'A task\'s model: is provider:model or a declared model id.', 'Give an inline model or a reference under model_config: instead.');
    return typeof raw.model === 'string' ? raw.model : undefined;
  }

  /** The fields of the task's own type (TASK_TYPE_FIELDS); no other type's are read. */
  private ownFields(r: Reader, raw: Obj, path: YamlPath, type: TaskType, use: { tool?: string; agent?: string }): OwnTaskFields {
    const str = (key: string) => r.string(raw, path, key);
    const executing = () => ({ execution: this.execution(r, raw, path), ...defined({ timeout: str('timeout'), retries: r.number(raw, path, 'retries') }) });
    const children = (key: string) => r.list(raw, path, key).flatMap((child, i) => this.task(r, child, [...path, key, i]) ?? []);
    const one = (key: string, inCollection = false) => (raw[key] === undefined ? undefined : this.task(r, raw[key], [...path, key], inCollection));
    const strategy = () => {
      const value = str('strategy');
      if (value === undefined) return undefined;
      if ((TASK_STRATEGIES as readonly string[]).includes(value)) return value as TaskStrategy;
      r.error([...path, 'strategy'], `Unknown strategy "${value}".`, suggestion(value, TASK_STRATEGIES, 'strategy'));
      return undefined;
    };
    switch (type) {
      case 'basic': {
        // An id, a reference to a declared one, or an inline definition; else the task's own $use.
        const named = <T>(key: 'agent' | 'tool', inline: (value: Obj, at: YamlPath) => T | undefined, fallback: string | undefined): string | T | undefined => {
          const value = raw[key];
          if (typeof value === 'string') return value;
          if (isRef(value)) return this.refIds(r, value, [...path, key], [`${key}s`])?.[0];
          if (isObj(value)) return inline(value, [...path, key]);
          return fallback;
        };
        const agent = named('agent', (value, at) => this.agent(r, value, at), use.agent);
        const tool = named('tool', (value, at) => this.tool(r, value, at), use.tool);
        return { type, ...executing(), ...defined({ agent, tool, action: str('action'), prompt: str('prompt'), model: this.taskModel(r, raw, path) }) };
      }
      case 'router': {
        const routes: Record<string, string | TaskConfig> = {};
        for (const [key, value] of Object.entries(r.map(raw, path, 'routes'))) {
          if (typeof value === 'string') routes[key] = value;
          else {
            const inline = this.task(r, value, [...path, 'routes', key]);
            if (inline) routes[key] = inline;
          }
        }
        return { type, routes, ...defined({ condition: str('condition') }) };
      }
      case 'parallel':
        return { type, tasks: children('tasks'), ...defined({ strategy: strategy(), maxWorkers: r.number(raw, path, 'max_workers') }) };
      case 'composite':
        return { type, tasks: children('tasks'), ...defined({ strategy: strategy() }) };
      case 'collection': {
        const modeText = str('mode');
        const mode: 'parallel' | 'sequential' | undefined = modeText === 'parallel' || modeText === 'sequential' ? modeText : undefined;
        if (modeText !== undefined && mode === undefined) r.error([...path, 'mode'], `Collection mode must be parallel or sequential, not "${modeText}".`);
        return {
          type, itemVar: str('item_var') ?? 'item', indexVar: str('index_var') ?? 'index',
          ...defined({
            items: raw.items, filter: str('filter'), mode, batch: r.number(raw, path, 'batch'),
            task: one('task', true), tasks: raw.tasks === undefined ? undefined : children('tasks'), strategy: strategy(), maxWorkers: r.number(raw, path, 'max_workers'),
          }),
        };
      }
      case 'aggregate':
        return { type };
      case 'signal': {
        if (raw.signal === undefined) return { type, ...executing() };
        const signal = r.map(raw, path, 'signal');
        r.knownKeys(signal, [...path, 'signal'], SIGNAL_FIELDS, 'signal');
        return { type, ...executing(), signal: { id: r.string(signal, [...path, 'signal'], 'id', true) ?? '', payload: signal.payload ?? {} } };
      }
      case 'wait':
        // Reference engine/task/config.go validateWaitProcessor: a processor names its id and its type.
        if (isObj(raw.processor) && raw.processor.type === undefined) r.error([...path, 'processor'], `The processor of wait task "${raw.id}" has no type.`, 'Add type: basic (or the type of task it is) to the processor.');
        return { type, ...defined({ timeout: str('timeout'), waitFor: str('wait_for'), condition: str('condition'), processor: one('processor'), onTimeout: str('on_timeout') }) };
      case 'memory':
        return {
          type, ...executing(), ...defined({ operation: str('operation'), memoryRef: str('memory_ref'), keyTemplate: str('key_template'), payload: raw.payload }),
          ...this.memoryOptions(r, raw, path),
        };
    }
  }

  /**
   * A memory task's batch_size, max_keys and flush/health/stats/clear configs (reference §2.5).
   * health_config.check_connectivity and stats_config.group_by are refused: nothing here honours them.
   */
  memoryOptions(r: Reader, raw: Obj, path: YamlPath): { memoryOptions?: MemoryTaskOptions } {
    const fields = ['batch_size', 'max_keys', 'flush_config', 'health_config', 'stats_config', 'clear_config'];
    if (!fields.some((field) => raw[field] !== undefined)) return {};
    const options: MemoryTaskOptions = {};
    const whole = (obj: Obj, at: YamlPath, key: string, max: number): number | undefined => {
      const value = r.number(obj, at, key);
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1 || value > max)) r.error([...at, key], `"${key}" must be a whole number from 1 to ${max}.`);
      return value;
    };
    const batchSize = whole(raw, path, 'batch_size', MEMORY_OPERATION_LIMITS.batchSize);
    const maxKeys = whole(raw, path, 'max_keys', MEMORY_OPERATION_LIMITS.maxKeys);
    if (batchSize !== undefined) options.batchSize = batchSize;
    if (maxKeys !== undefined) options.maxKeys = maxKeys;
    const section = (key: string, allowed: string[]): { obj: Obj; at: YamlPath } | undefined => {
      if (raw[key] === undefined) return undefined;
      const obj = r.map(raw, path, key);
      const at = [...path, key];
      r.knownKeys(obj, at, new Set(allowed), key);
      return { obj, at };
    };
    const flush = section('flush_config', ['strategy', 'max_keys', 'dry_run', 'force', 'threshold']);
    if (flush) {
      const strategy = r.string(flush.obj, flush.at, 'strategy');
      if (strategy !== undefined && !(MEMORY_FLUSH_STRATEGIES as readonly string[]).includes(strategy)) {
        r.error([...flush.at, 'strategy'], `Unknown flush strategy "${strategy}".`, suggestion(strategy, MEMORY_FLUSH_STRATEGIES, 'strategy'));
      }
      const threshold = r.number(flush.obj, flush.at, 'threshold');
      if (threshold !== undefined && (threshold <= 0 || threshold > 1)) r.error([...flush.at, 'threshold'], '"threshold" must be more than 0 and at most 1.');
      const flushMaxKeys = whole(flush.obj, flush.at, 'max_keys', MEMORY_OPERATION_LIMITS.maxKeys);
      options.flush = {
        ...(strategy !== undefined && (MEMORY_FLUSH_STRATEGIES as readonly string[]).includes(strategy) ? { strategy: strategy as MemoryFlushStrategy } : {}),
        ...(flushMaxKeys !== undefined ? { maxKeys: flushMaxKeys } : {}),
        ...(flush.obj.dry_run !== undefined ? { dryRun: r.bool(flush.obj, flush.at, 'dry_run') } : {}),
        ...(flush.obj.force !== undefined ? { force: r.bool(flush.obj, flush.at, 'force') } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
      };
    }
    const health = section('health_config', ['include_stats']);
    if (health) options.health = { includeStats: r.bool(health.obj, health.at, 'include_stats') };
    const stats = section('stats_config', ['include_content']);
    if (stats) options.stats = { includeContent: r.bool(stats.obj, stats.at, 'include_content') };
    const clear = section('clear_config', ['confirm', 'backup']);
    if (clear) options.clear = { confirm: r.bool(clear.obj, clear.at, 'confirm'), backup: r.bool(clear.obj, clear.at, 'backup') };
    return { memoryOptions: options };
  }

  /** `config:` retry and timeout options; durations are checked here, so later code can trust them. */
  execution(r: Reader, raw: Obj, path: YamlPath, extraFields: readonly string[] = [], extraUnsupported: Readonly<Record<string, string>> = {}): ExecutionOptions {
    const config = r.map(raw, path, 'config');
    const at = [...path, 'config'];
    r.knownKeys(config, at, new Set([...EXECUTION_FIELDS, ...extraFields]), 'config', { ...UNSUPPORTED_EXECUTION_FIELDS, ...extraUnsupported });
    const duration = (obj: Obj, objPath: YamlPath, key: string): string | undefined => {
      const value = r.string(obj, objPath, key);
      if (value !== undefined && !isValidDuration(value)) r.error([...objPath, key], `"${value}" is not a duration.`, 'Write it like 1s, 500ms or 5m.');
      return value;
    };
    const out: ExecutionOptions = {};
    for (const [key, field] of [['start_to_close_timeout', 'startToCloseTimeout'], ['schedule_to_close_timeout', 'scheduleToCloseTimeout'], ['heartbeat_timeout', 'heartbeatTimeout']] as const) {
      const value = duration(config, at, key);
      if (value !== undefined) out[field] = value;
    }
    if (config.retry_policy !== undefined) {
      const policy = r.map(config, at, 'retry_policy');
      const pAt = [...at, 'retry_policy'];
      r.knownKeys(policy, pAt, RETRY_POLICY_FIELDS, 'retry_policy');
      const initialInterval = duration(policy, pAt, 'initial_interval');
      const maximumInterval = duration(policy, pAt, 'maximum_interval');
      const backoffCoefficient = r.number(policy, pAt, 'backoff_coefficient');
      const maximumAttempts = r.number(policy, pAt, 'maximum_attempts');
      if (maximumAttempts !== undefined && !(Number.isInteger(maximumAttempts) && maximumAttempts >= 1)) r.error([...pAt, 'maximum_attempts'], 'maximum_attempts must be a whole number ≥ 1.');
      if (backoffCoefficient !== undefined && backoffCoefficient < 1) r.error([...pAt, 'backoff_coefficient'], 'backoff_coefficient must be ≥ 1.');
      const nonRetryable = r.list(policy, pAt, 'non_retryable_error_types').map(String);
      out.retryPolicy = {
        ...(initialInterval !== undefined ? { initialInterval } : {}),
        ...(maximumInterval !== undefined ? { maximumInterval } : {}),
        ...(backoffCoefficient !== undefined ? { backoffCoefficient } : {}),
        ...(maximumAttempts !== undefined ? { maximumAttempts } : {}),
        ...(nonRetryable.length > 0 ? { nonRetryableErrorTypes: nonRetryable } : {}),
      };
    }
    return out;
  }

  /** The memory resource files a workflow names under resources.memories, relative to the workflow file. */
  private workflowMemories(r: Reader, file: YamlFile, raw: Obj): MemoryResource[] {
    return memorySources(r, raw).flatMap(({ id, source, path }) => {
      const target = resolve(dirname(file.path), source);
      if (!existsSync(target)) {
        r.error([...path, 'source'], `Memory resource file ${source} does not exist (${target}).`, 'Fix the path; it is relative to the workflow file.');
        return [];
      }
      const memoryFile = this.open(target);
      if (!memoryFile) return [];
      const mr = new Reader(memoryFile, this.diagnostics);
      const data = memoryFile.data as Obj;
      const kind = mr.string(data, [], 'resource', true);
      if (kind !== undefined && kind !== 'memory') {
        mr.error(['resource'], `${source} is a "${kind}" resource; resources.memories needs resource: memory.`);
        return [];
      }
      const memory = readMemoryResource(mr, data, [], memoryFile);
      if (memory && memory.id !== id) {
        r.error([...path, 'id'], `resources.memories names "${id}" but ${source} defines memory "${memory.id}".`, 'Make the two ids the same.');
        return [];
      }
      return memory ? [memory] : [];
    });
  }

  /** A webhook trigger's `webhook:` mapping (reference engine/webhook: config.go, validators.go). */
  private webhook(r: Reader, item: Obj, at: YamlPath): Omit<WebhookTrigger, 'file' | 'path' | 'type'> | undefined {
    if (!isObj(item.webhook)) {
      r.error([...at, 'webhook'], 'A webhook trigger needs webhook: {slug, events, verify}.');
      return undefined;
    }
    const w = item.webhook;
    const wat = [...at, 'webhook'];
    r.knownKeys(w, wat, WEBHOOK_FIELDS, 'webhook');
    const slug = r.string(w, wat, 'slug', true);
    if (slug !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(slug)) r.error([...wat, 'slug'], `Webhook slug "${slug}" is not URL-safe.`, 'Use letters, digits, - and _ (it is the last segment of /api/v0/hooks/<slug>).');
    const method = (r.string(w, wat, 'method') ?? 'POST').toUpperCase();
    if (!(WEBHOOK_METHODS as readonly string[]).includes(method)) r.error([...wat, 'method'], `Webhook method "${method}" is not one of ${WEBHOOK_METHODS.join(', ')}.`);
    const names = new Set<string>();
    const events = r.list(w, wat, 'events').flatMap((event, i): WebhookEvent[] => {
      const eat = [...wat, 'events', i];
      if (!isObj(event)) {
        r.error(eat, 'A webhook event must be a mapping {name, filter, input}.');
        return [];
      }
      r.knownKeys(event, eat, WEBHOOK_EVENT_FIELDS, 'webhook event');
      const name = r.string(event, eat, 'name', true);
      const filter = r.string(event, eat, 'filter', true);
      const input = r.stringMap(event, eat, 'input');
      if (event.input !== undefined && Object.keys(input).length === 0) r.error([...eat, 'input'], 'A webhook event\'s input needs at least one key.', 'Map workflow input keys to templates over the body, e.g. id: "{{ .payload.data.id }}".');
      else if (event.input === undefined) r.error(eat, 'A webhook event needs input: {key: template}.', 'Map workflow input keys to templates over the body, e.g. id: "{{ .payload.data.id }}".');
      if (name !== undefined && names.has(name)) r.error([...eat, 'name'], `Webhook event "${name}" is declared twice in this webhook.`);
      if (name !== undefined) names.add(name);
      const schema = this.schemaRef(r, event, eat, 'schema');
      return name !== undefined && filter !== undefined ? [{ name, filter, input, ...(schema ? { schema } : {}) }] : [];
    });
    if (w.events === undefined || (Array.isArray(w.events) && w.events.length === 0)) r.error(w.events === undefined ? wat : [...wat, 'events'], 'A webhook needs at least one event.', 'Add events: [{name, filter, input}].');
    const verify = this.webhookVerify(r, w, wat);
    if (slug === undefined || !verify) return undefined;
    return { slug, method: method as WebhookTrigger['method'], events, verify };
  }

  private webhookVerify(r: Reader, w: Obj, wat: YamlPath): WebhookTrigger['verify'] | undefined {
    if (w.verify === undefined) return { strategy: 'none' };
    const vat = [...wat, 'verify'];
    const v = r.map(w, wat, 'verify');
    r.knownKeys(v, vat, WEBHOOK_VERIFY_FIELDS, 'webhook verify');
    const strategy = r.string(v, vat, 'strategy') ?? 'none';
    if (!(WEBHOOK_STRATEGIES as readonly string[]).includes(strategy)) {
      r.error([...vat, 'strategy'], `Unknown verify strategy "${strategy}".`, suggestion(strategy, WEBHOOK_STRATEGIES, 'strategy'));
      return undefined;
    }
    const secret = r.string(v, vat, 'secret');
    const header = r.string(v, vat, 'header');
    const skew = r.string(v, vat, 'skew');
    const refuse = (key: string, why: string) => r.error([...vat, key], `verify.${key} ${why}`);
    if (strategy === 'none' && secret !== undefined) refuse('secret', 'is given but strategy is none, so nothing would check it.');
    if (strategy !== 'none' && !secret) refuse('secret', `is required by strategy ${strategy}.`);
    if (strategy === 'hmac' && !header) refuse('header', 'is required by strategy hmac: the request header that carries the hex HMAC-SHA256 of the body.');
    if (strategy !== 'hmac' && header !== undefined) refuse('header', `only applies to strategy hmac (${strategy === 'github' ? 'github reads X-Hub-Signature-256' : strategy === 'stripe' ? 'stripe reads Stripe-Signature' : 'none reads no header'}).`);
    if (strategy !== 'stripe' && skew !== undefined) refuse('skew', 'only applies to strategy stripe (the tolerance on its signed timestamp).');
    if (skew !== undefined && !isValidDuration(skew)) refuse('skew', `"${skew}" is not a valid duration (e.g. 5m, 300s).`);
    return {
      strategy: strategy as WebhookStrategy,
      ...(secret ? { secret } : {}), ...(header ? { header } : {}),
      ...(strategy === 'stripe' ? { skewMs: skew !== undefined && isValidDuration(skew) ? parseDuration(skew) : STRIPE_DEFAULT_SKEW_MS } : {}),
    };
  }

  workflow(file: YamlFile): WorkflowConfig | undefined {
    const r = new Reader(file, this.diagnostics);
    const raw = file.data as Obj;
    r.knownKeys(raw, [], WORKFLOW_FIELDS, 'workflow', UNSUPPORTED_WORKFLOW_FIELDS);
    const id = r.string(raw, [], 'id', true);
    if (!id) return undefined;
    const config = r.map(raw, [], 'config');
    const input = this.schemaRef(r, config, ['config'], 'input');
    const triggers = r.list(raw, [], 'triggers').flatMap((item, i): Trigger[] => {
      const at = ['triggers', i];
      if (!isObj(item)) {
        r.error(at, 'A trigger must be a mapping like {type: signal, name: <signal>}.');
        return [];
      }
      const type = r.string(item, at, 'type', true);
      if (type === 'webhook') {
        r.knownKeys(item, at, WEBHOOK_TRIGGER_FIELDS, 'webhook trigger');
        const webhook = this.webhook(r, item, at);
        return webhook ? [{ file, path: at, type, ...webhook }] : [];
      }
      if (type !== 'signal') {
        if (type) r.error([...at, 'type'], `Unknown trigger type "${type}".`, suggestion(type, ['signal', 'webhook'], 'trigger type'));
        return [];
      }
      r.knownKeys(item, at, TRIGGER_FIELDS, 'trigger');
      const name = r.string(item, at, 'name', true);
      const schema = this.schemaRef(r, item, at, 'schema');
      return [{ file, path: at, type, ...(name ? { name } : {}), ...(schema ? { schema } : {}) }];
    });
    const version = r.string(raw, [], 'version');
    const description = r.string(raw, [], 'description');
    const schedule = readSchedule(r, raw);
    this.taskResources.enterWorkflow(r, file, taskSources(r, raw));
    return {
      file, path: [], id, schemas: this.schemas(r, raw, []), env: r.stringMap(config, ['config'], 'env'),
      tools: r.list(raw, [], 'tools').flatMap((t, i) => (isObj(t) ? (this.tool(r, t, ['tools', i]) ?? []) : [])),
      agents: r.list(raw, [], 'agents').flatMap((a, i) => (isObj(a) ? (this.agent(r, a, ['agents', i]) ?? []) : [])),
      mcps: readMcpServers(r, raw, []),
      tasks: r.list(raw, [], 'tasks').flatMap((t, i) => this.task(r, t, ['tasks', i]) ?? []),
      triggers,
      memories: this.workflowMemories(r, file, raw),
      execution: this.execution(r, raw, [], ['input', 'env']),
      ...(input ? { input } : {}), ...(version ? { version } : {}), ...(description ? { description } : {}), ...(schedule ? { schedule } : {}),
      ...(raw.outputs !== undefined ? { outputs: r.map(raw, [], 'outputs') } : {}),
    };
  }

  /** Every task resource read, once every reference site has its task (task-resources.ts). */
  private resolvedTasks(): TaskConfig[] {
    this.taskResources.resolve();
    return this.taskResources.tasks();
  }

  /** Loads compozy.yaml, its workflows and autoloaded resources; diagnostics collect every problem found. */
  project(dir: string): ProjectConfig | undefined {
    const configPath = projectFile(dir);
    if (!existsSync(configPath)) {
      this.diagnostics.push({ file: configPath, line: 1, col: 1, key: '', message: `${basename(configPath)} not found.`, hint: 'Create one with `compozy init`, or pass the project directory (or the file with --config).' });
      return undefined;
    }
    const file = this.open(configPath);
    if (!file) return undefined;
    const r = new Reader(file, this.diagnostics);
    const raw = file.data as Obj;
    for (const [key, hint] of Object.entries(UNSUPPORTED_PROJECT_FIELDS)) {
      if (raw[key] !== undefined) r.error([key], `The project field "${key}" is not supported yet.`, hint);
    }
    this.diagnostics.push(...appKeyDiagnostics(file, [...PROJECT_FIELDS, ...Object.keys(UNSUPPORTED_PROJECT_FIELDS)]));
    const name = r.string(raw, [], 'name', true) ?? '';
    const models = r.list(raw, [], 'models').flatMap((m, i) => (isObj(m) ? (this.model(r, m, ['models', i]) ?? []) : []));
    this.globalFile = file;
    this.globalModels = models;
    const runtimeRaw = r.map(raw, [], 'runtime');
    r.knownKeys(runtimeRaw, ['runtime'], RUNTIME_FIELDS, 'runtime');
    const runtimeType = r.string(runtimeRaw, ['runtime'], 'type') ?? 'node';
    if (runtimeType !== 'node' && runtimeType !== 'bun') {
      r.error(['runtime', 'type'], `runtime.type "${runtimeType}" is not supported: tools run under node or bun.`, 'Write runtime.type: bun or runtime.type: node (the default).');
    }
    // bun_permissions (the Go engine's name) is the list under Bun; runtime.permissions says the same.
    if (runtimeRaw.bun_permissions !== undefined && runtimeType !== 'bun') {
      r.error(['runtime', 'bun_permissions'], `runtime.bun_permissions applies to runtime.type: bun; tools here run under ${runtimeType}.`, 'Write the flags under runtime.permissions, or set runtime.type: bun.');
    } else if (runtimeRaw.bun_permissions !== undefined && runtimeRaw.permissions !== undefined) {
      r.error(['runtime', 'bun_permissions'], 'runtime.bun_permissions and runtime.permissions are both set; they name the same list.', 'Keep one of them.');
    }
    if (runtimeRaw.bun_bin !== undefined && runtimeType !== 'bun') r.error(['runtime', 'bun_bin'], `runtime.bun_bin applies to runtime.type: bun; tools here run under ${runtimeType}.`, 'Remove bun_bin, or set runtime.type: bun.');
    const bunBin = r.string(runtimeRaw, ['runtime'], 'bun_bin');
    const runtime = {
      type: runtimeType,
      entrypoint: r.string(runtimeRaw, ['runtime'], 'entrypoint') ?? './entrypoint.ts',
      permissions: r.list(runtimeRaw, ['runtime'], runtimeRaw.bun_permissions !== undefined && runtimeRaw.permissions === undefined ? 'bun_permissions' : 'permissions').map(String),
      ...(bunBin !== undefined ? { bunBin: resolve(dir, bunBin) } : {}),
      ...defined({ nativeTools: readNativeTools(r, runtimeRaw, dir) }),
    };
    const workflows = r.list(raw, [], 'workflows').flatMap((entry, i) => {
      const source = isObj(entry) ? r.string(entry, ['workflows', i], 'source', true) : typeof entry === 'string' ? entry : undefined;
      if (!source) return [];
      const path = resolve(dir, source);
      if (!existsSync(path)) {
        r.error(['workflows', i, 'source'], `Workflow file ${source} does not exist (${path}).`, 'Fix the path; it is relative to the project directory.');
        return [];
      }
      const workflowFile = this.open(path);
      return workflowFile ? (this.workflow(workflowFile) ?? []) : [];
    });
    const agents: AgentConfig[] = [];
    const tools: ToolConfig[] = [];
    const memories: MemoryResource[] = [];
    const autoload = r.map(raw, [], 'autoload');
    r.knownKeys(autoload, ['autoload'], AUTOLOAD_FIELDS, 'autoload', UNSUPPORTED_AUTOLOAD_FIELDS);
    if (autoload.strict === false) r.error(['autoload', 'strict'], 'autoload.strict: false is not supported: a duplicate id or a file that does not parse is always an error.', 'Remove strict: (or write strict: true).');
    else r.bool(autoload, ['autoload'], 'strict');
    if (raw.autoload !== undefined && autoload.enabled !== false) {
      const include = (r.list(autoload, ['autoload'], 'include').map(String) as string[]).filter(Boolean);
      const exclude = (r.list(autoload, ['autoload'], 'exclude').map(String) as string[]).filter(Boolean);
      const patterns = include.length > 0 ? include : ['agents/*.yaml', 'tools/*.yaml', 'memory/*.yaml', 'tasks/*.yaml'];
      const files = new Set(patterns.flatMap((pattern) => globSync(pattern, { cwd: dir, exclude })).map((p) => resolve(dir, p)));
      for (const path of [...files].sort()) {
        const resourceFile = this.open(path);
        if (!resourceFile) continue;
        const rr = new Reader(resourceFile, this.diagnostics);
        const data = resourceFile.data as Obj;
        const kind = rr.string(data, [], 'resource', true);
        if (kind === 'agent') agents.push(...[this.agent(rr, data, [])].filter((a): a is AgentConfig => a !== undefined));
        else if (kind === 'tool') tools.push(...[this.tool(rr, data, [])].filter((t): t is ToolConfig => t !== undefined));
        else if (kind === 'memory') memories.push(...[readMemoryResource(rr, data, [], resourceFile)].filter((m): m is MemoryResource => m !== undefined));
        else if (kind === 'task') this.taskResources.addProjectResource(rr, data);
        else if (kind) rr.error(['resource'], `Unknown resource kind "${kind}" in ${relative(dir, path)}.`, suggestion(kind, ['agent', 'tool', 'memory', 'task'], 'resource kind'));
      }
    }
    const version = r.string(raw, [], 'version');
    const description = r.string(raw, [], 'description');
    return {
      name, dir, file, models, schemas: this.schemas(r, raw, []), mcps: readMcpServers(r, raw, []), runtime, workflows, agents, tools, memories, tasks: this.resolvedTasks(), execution: this.execution(r, raw, [], [], UNSUPPORTED_PROJECT_CONFIG_FIELDS),
      ...(version ? { version } : {}), ...(description ? { description } : {}),
    };
  }
}

export function loadProjectConfig(dir: string): LoadResult {
  const loader = new Loader();
  const project = loader.project(resolve(dir));
  return { project, diagnostics: loader.diagnostics };
}

