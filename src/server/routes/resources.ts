import type { FastifyInstance } from 'fastify';
import { projectMemories } from '../../config/memory-resource.js';
import type { AgentConfig, MemoryResource, ModelConfig, ProjectConfig } from '../../config/types.js';
import type { EngineClient } from '../../engine/client.js';
import { resolveSchema } from '../../engine/definition.js';
import { CompozyError } from '../../errors.js';
import { ExecutableTasks, type ExecutableTask } from './direct-defs.js';
import { ANY, errors, list, object, ok, params, query, route, STRING, STRING_OR_NULL, type JsonSchema } from './schemas.js';

/**
 * Read-only views of the loaded project (reference §8.5, GET only: the YAML files are the source of
 * truth). Nothing secret leaves: a model's api_key is never sent, env maps list their names only, and
 * in free-form maps (a tool's with: and config:) a value under a key that names a credential is
 * "[redacted]".
 */

const REDACTED = '[redacted]';
const CREDENTIAL_KEY = /api[_-]?key|secret|token|password|passwd|credential|authorization|private[_-]?key/i;

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, CREDENTIAL_KEY.test(key) ? REDACTED : redact(v)]));
}

/** How the API names a model: `provider:model`, the form an agent's model: uses. */
const modelId = (model: ModelConfig) => `${model.provider}:${model.model}`;

const MODEL_SCHEMA = object({ id: STRING, provider: STRING, model: STRING, api_url: STRING_OR_NULL, default: { type: 'boolean' }, params: ANY, api_key_set: { type: 'boolean', description: 'whether an api_key is configured (the key itself is never sent)' } });

function modelDto(model: ModelConfig) {
  return { id: modelId(model), provider: model.provider, model: model.model, api_url: model.apiUrl ?? null, default: model.isDefault, params: redact(model.params), api_key_set: model.apiKey !== undefined };
}

const AGENT_SCHEMA = object({
  id: STRING,
  model: { description: 'provider:model, a model id, an inline model (without its api_key), or null for the project default', ...ANY },
  instructions: STRING_OR_NULL,
  tools: list(STRING),
  mcps: { description: "the ids of the MCP servers whose tools the agent is offered (the project's, its workflow's, its own)", ...list(STRING) },
  actions: list(object({ id: STRING, prompt: STRING, input: ANY, output: ANY, json_mode: { type: 'boolean' } })),
  memory: list(object({ id: STRING, key: STRING_OR_NULL, mode: STRING })),
  max_iterations: { type: ['integer', 'null'] },
  json_mode: { type: 'boolean' },
});

function agentDto(agent: AgentConfig, schemas: Parameters<typeof resolveSchema>[1], mcps: string[]) {
  return {
    id: agent.id,
    model: agent.model === undefined ? null : typeof agent.model === 'string' ? agent.model : modelDto(agent.model),
    instructions: agent.instructions ?? null,
    tools: agent.tools,
    mcps,
    actions: agent.actions.map((a) => ({ id: a.id, prompt: a.prompt, input: resolveSchema(a.input, schemas) ?? null, output: resolveSchema(a.output, schemas) ?? null, json_mode: a.jsonMode })),
    memory: agent.memory.map((m) => ({ id: m.id, key: m.key ?? null, mode: m.mode })),
    max_iterations: agent.maxIterations ?? null,
    json_mode: agent.jsonMode,
  };
}

const TOOL_SCHEMA = object({ id: STRING, description: STRING_OR_NULL, input: ANY, output: ANY, with: ANY, config: ANY, env: list(STRING), timeout: STRING_OR_NULL });

const TASK_SCHEMA = object({
  id: STRING,
  type: STRING,
  workflow_id: { type: ['string', 'null'], description: 'null for a task resource' },
  agent: STRING_OR_NULL,
  action: STRING_OR_NULL,
  tool: STRING_OR_NULL,
  prompt: STRING_OR_NULL,
  with: ANY,
  input: ANY,
  output: ANY,
  outputs: ANY,
});

function taskDto({ workflowId, task }: ExecutableTask) {
  const basic = task.type === 'basic' ? task : undefined;
  return {
    id: task.id,
    type: task.type,
    workflow_id: workflowId,
    agent: basic?.agent ?? null,
    action: basic?.action ?? null,
    tool: basic?.tool ?? null,
    prompt: basic?.prompt ?? null,
    with: redact(task.with),
    input: task.inputSchema ?? null,
    output: task.outputSchema ?? null,
    outputs: task.outputs ?? null,
  };
}

const MEMORY_SCHEMA = object({
  id: STRING,
  description: STRING_OR_NULL,
  version: STRING_OR_NULL,
  key: STRING_OR_NULL,
  type: STRING,
  max_tokens: { type: ['integer', 'null'] },
  max_messages: { type: ['integer', 'null'] },
  max_context_ratio: { type: ['number', 'null'] },
  flushing: ANY,
  persistence: ANY,
  eviction_policy: ANY,
});

function memoryDto(memory: MemoryResource) {
  const { flushing, persistence } = memory;
  return {
    id: memory.id,
    description: memory.description ?? null,
    version: memory.version ?? null,
    key: memory.key ?? null,
    type: memory.type,
    max_tokens: memory.maxTokens ?? null,
    max_messages: memory.maxMessages ?? null,
    max_context_ratio: memory.maxContextRatio ?? null,
    flushing: { type: flushing.type, summarize_threshold: flushing.summarizeThreshold, summary_tokens: flushing.summaryTokens ?? null, summarize_oldest_percent: flushing.summarizeOldestPercent, summary_model: flushing.summaryModel ?? null },
    persistence: { type: persistence.type, ttl_ms: persistence.ttlMs ?? null },
    eviction_policy: { type: memory.evictionPolicy.type, priority_keywords: memory.evictionPolicy.priorityKeywords },
  };
}

const SCHEMA_SCHEMA = object({ id: STRING, schema: ANY });

const PROJECT_SCHEMA = object({
  name: STRING,
  version: STRING_OR_NULL,
  description: STRING_OR_NULL,
  runtime: object({ type: STRING, entrypoint: STRING, permissions: list(STRING) }),
  workflows: list(STRING),
  agents: list(STRING),
  tools: list(STRING),
  models: list(STRING),
  memories: list(STRING),
  schemas: list(STRING),
  tasks: { description: 'the task resources (resource: task)', ...list(STRING) },
});

function notFound(kind: string, id: string, known: string[]): CompozyError {
  return new CompozyError('RESOURCE_NOT_FOUND', `The project has no ${kind} "${id}".`, { hint: `Known ${kind}s: ${known.join(', ') || 'none'}.` });
}

/** One resource kind: GET /<plural> (`{<plural>: [...]}`) and GET /<plural>/:<param>. */
function readOnly<T>(app: FastifyInstance, spec: { plural: string; param: string; schema: JsonSchema; all: () => T[]; one: (id: string) => T; errors404: string }) {
  const { plural, param } = spec;
  app.get(`/${plural}`, { schema: route({ summary: `The project's ${plural}`, tags: ['resources'], response: { 200: ok(plural, object({ [plural]: list(spec.schema) })) } }) }, async () => ({ status: 200, message: plural, data: { [plural]: spec.all() } }));
  app.get<{ Params: Record<string, string> }>(
    `/${plural}/:${param}`,
    { schema: route({ summary: `One of the project's ${plural}`, tags: ['resources'], params: params({ [param]: STRING }), response: { 200: ok(plural, spec.schema), ...errors({ 404: spec.errors404 }) } }) },
    async (request) => ({ status: 200, message: plural, data: spec.one(String(request.params[param])) }),
  );
}

export function resourceRoutes(engine: EngineClient, project: ProjectConfig) {
  return async (app: FastifyInstance) => {
    const { resources } = engine.project;
    const memories = [...new Map(projectMemories(project).map((m) => [m.id, m] as const)).values()];

    app.get('/project', { schema: route({ summary: 'The loaded project', tags: ['resources'], response: { 200: ok('project', PROJECT_SCHEMA) } }) }, async () => ({
      status: 200,
      message: 'project',
      data: {
        name: project.name,
        version: project.version ?? null,
        description: project.description ?? null,
        runtime: { type: project.runtime.type, entrypoint: project.runtime.entrypoint, permissions: project.runtime.permissions },
        workflows: project.workflows.map((w) => w.id),
        agents: [...resources.agents.keys()],
        tools: [...resources.tools.keys()],
        models: project.models.map(modelId),
        memories: memories.map((m) => m.id),
        schemas: project.schemas.map((s) => s.id),
        tasks: project.tasks.map((t) => t.id),
      },
    }));

    const agent = (id: string) => {
      const found = resources.agents.get(id);
      if (!found) throw new CompozyError('AGENT_NOT_FOUND', `Agent "${id}" does not exist in project ${project.name}.`, { hint: `Known agents: ${[...resources.agents.keys()].join(', ') || 'none'}.` });
      return agentDto(found.agent, found.schemas, found.mcps);
    };
    readOnly(app, { plural: 'agents', param: 'agent_id', schema: AGENT_SCHEMA, all: () => [...resources.agents.keys()].map(agent), one: agent, errors404: 'AGENT_NOT_FOUND' });

    const tool = (id: string) => {
      const found = resources.tools.get(id);
      if (!found) throw new CompozyError('TOOL_NOT_FOUND', `Tool "${id}" does not exist in project ${project.name}.`, { hint: `Known tools: ${[...resources.tools.keys()].join(', ') || 'none'}.` });
      const { tool: t } = found;
      return { id: t.id, description: t.description ?? null, input: found.inputSchema ?? null, output: found.outputSchema ?? null, with: redact(t.with), config: redact(t.config), env: Object.keys(t.env), timeout: t.timeout ?? null };
    };
    readOnly(app, { plural: 'tools', param: 'tool_id', schema: TOOL_SCHEMA, all: () => [...resources.tools.keys()].map(tool), one: tool, errors404: 'TOOL_NOT_FOUND' });

    const tasks = new ExecutableTasks(engine, project);
    const tasksSchema = route({ summary: 'The tasks that can be executed directly: the task resources, then every workflow\'s top-level tasks', tags: ['resources'], response: { 200: ok('tasks', object({ tasks: list(TASK_SCHEMA) })) } });
    app.get('/tasks', { schema: tasksSchema }, async () => ({ status: 200, message: 'tasks', data: { tasks: tasks.all().map(taskDto) } }));
    const taskSchema = route({
      summary: 'One task',
      tags: ['resources'],
      params: params({ task_id: STRING }),
      querystring: query({ workflow_id: { type: 'string', description: 'this workflow\'s task of that id (not a task resource)' } }),
      response: { 200: ok('task', TASK_SCHEMA), ...errors({ 404: 'TASK_NOT_FOUND', 409: 'TASK_AMBIGUOUS: several workflows define it; pass workflow_id' }) },
    });
    app.get<{ Params: { task_id: string }; Querystring: { workflow_id?: string } }>('/tasks/:task_id', { schema: taskSchema }, async (request) => {
      return { status: 200, message: 'task', data: taskDto(tasks.find(request.params.task_id, request.query.workflow_id)) };
    });

    const model = (id: string) => {
      const found = project.models.find((m) => modelId(m) === id);
      if (!found) throw notFound('model', id, project.models.map(modelId));
      return modelDto(found);
    };
    readOnly(app, { plural: 'models', param: 'model_id', schema: MODEL_SCHEMA, all: () => project.models.map(modelDto), one: model, errors404: 'RESOURCE_NOT_FOUND' });

    const memory = (id: string) => {
      const found = memories.find((m) => m.id === id);
      if (!found) throw notFound('memory', id, memories.map((m) => m.id));
      return memoryDto(found);
    };
    readOnly(app, { plural: 'memories', param: 'memory_id', schema: MEMORY_SCHEMA, all: () => memories.map(memoryDto), one: memory, errors404: 'RESOURCE_NOT_FOUND' });

    const schema = (id: string) => {
      const found = project.schemas.find((s) => s.id === id);
      if (!found) throw notFound('schema', id, project.schemas.map((s) => s.id));
      return { id: found.id, schema: found.schema };
    };
    readOnly(app, { plural: 'schemas', param: 'schema_id', schema: SCHEMA_SCHEMA, all: () => project.schemas.map((s) => ({ id: s.id, schema: s.schema })), one: schema, errors404: 'RESOURCE_NOT_FOUND' });
  };
}
