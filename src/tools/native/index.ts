import { nativeToolSection, type NativeToolId, type NativeToolsConfig } from '../../config/native-tools.js';
import { CompozyError } from '../../errors.js';
import { describeProblems, SchemaValidator } from '../../platform/schema-validator.js';
import { callAgent, callAgents, callTask, callTasks, callWorkflow, callWorkflows, type AgentCallInput, type NativeCalls, type TaskCallInput, type WorkflowCallInput } from './calls.js';
import { commandPolicies, execCommand, type ExecInput } from './exec.js';
import { fetchUrl, type FetchInput } from './fetch.js';
import { describeAgent, listAgents, type AgentCatalog } from './agents.js';
import { listFiles, readFile, writeFile } from './files.js';
import { orchestrate, ORCHESTRATE_INPUT_SCHEMA, ORCHESTRATE_OUTPUT_SCHEMA, type OrchestrateInput } from './orchestrate.js';
import { deleteFile, grep, listDir, type GrepInput, type ListDirInput } from './tree.js';
import { Roots } from './roots.js';

/** What an agent is offered for a built-in tool: the Go engine's id, description and input schema. */
export interface NativeToolSpec {
  id: NativeToolId;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
}

const OBJECT = { type: 'object', additionalProperties: {} };
const TIMEOUT = { type: 'integer', minimum: 0 };
const AGENT_CALL = {
  type: 'object',
  properties: {
    agent_id: { type: 'string', description: 'Identifier of the agent to execute.' },
    action_id: { type: 'string', description: 'Optional action identifier for the agent. Required when the agent defines multiple actions.' },
    prompt: { type: 'string', description: 'Optional natural language instructions passed to the agent when executing prompt-driven flows.' },
    with: { ...OBJECT, description: 'Structured action input payload matching the agent action schema.' },
    timeout_ms: { ...TIMEOUT, description: 'Optional timeout override in milliseconds for the agent execution.' },
  },
  required: ['agent_id'],
  additionalProperties: false,
};
const TASK_CALL = {
  type: 'object',
  properties: { task_id: { type: 'string', description: 'Identifier of the task to execute.' }, with: { ...OBJECT, description: "Structured input payload matching the task's input schema." }, timeout_ms: { ...TIMEOUT, description: 'Optional timeout override in milliseconds for the task execution.' } },
  required: ['task_id'],
  additionalProperties: false,
};
const WORKFLOW_CALL = {
  type: 'object',
  properties: {
    workflow_id: { type: 'string', description: 'Identifier of the workflow to execute.' },
    input: { ...OBJECT, description: 'Input data passed to the workflow.' },
    initial_task_id: { type: 'string', description: 'Optional task ID to resume execution from.' },
    timeout_ms: { ...TIMEOUT, description: 'Optional timeout override in milliseconds for workflow execution.' },
  },
  required: ['workflow_id'],
  additionalProperties: false,
};
const MANY_RESULTS = { type: 'object', required: ['results', 'total_count', 'success_count', 'failure_count', 'total_duration_ms'], properties: { results: { type: 'array' }, total_count: { type: 'integer' }, success_count: { type: 'integer' }, failure_count: { type: 'integer' }, total_duration_ms: { type: 'integer' } } };
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } };
const FILE_METADATA = { type: 'object', properties: { path: { type: 'string' }, size: { type: 'integer' }, mode: { type: 'integer' }, modified: { type: 'string' } } };

/** The built-in tools runtime.native_tools enables, with the Go engine's schemas (engine/tool/builtin/*). */
export function nativeToolSpecs(config: NativeToolsConfig, policies?: ReturnType<typeof commandPolicies>): NativeToolSpec[] {
  if (!config.enabled) return [];
  const commands = [...(policies ?? commandPolicies(config)).keys()].sort();
  const specs: NativeToolSpec[] = [
    {
      id: 'cp__exec',
      description: `Execute a pre-approved command using a strict allowlist. Allowed commands (absolute paths): ${commands.join(', ') || 'none'}.`,
      inputSchema: {
        type: 'object',
        required: ['command'],
        properties: {
          command: { type: 'string', description: 'Absolute path to the allowlisted executable.' },
          args: { type: 'array', items: { type: 'string' }, description: 'Optional arguments passed to the executable.' },
          working_dir: { type: 'string', description: 'Optional working directory for command execution.' },
          timeout_ms: { type: 'integer', minimum: 1, description: 'Optional timeout override in milliseconds.' },
          env: { ...STRING_MAP, description: 'Additional environment variables for the command.' },
        },
      },
      outputSchema: {
        type: 'object',
        required: ['stdout', 'stderr', 'exit_code', 'success', 'duration_ms'],
        properties: { stdout: { type: 'string' }, stderr: { type: 'string' }, exit_code: { type: 'integer' }, success: { type: 'boolean' }, duration_ms: { type: 'integer' }, timed_out: { type: 'boolean' }, stdout_truncated: { type: 'boolean' }, stderr_truncated: { type: 'boolean' } },
      },
    },
    {
      id: 'cp__fetch',
      description: 'Perform an HTTP request with strict safety limits.',
      inputSchema: {
        type: 'object',
        required: ['url'],
        properties: {
          url: { type: 'string', description: 'Destination URL (http or https).' },
          method: { type: 'string', description: 'HTTP method (default GET).' },
          headers: { ...STRING_MAP, description: 'Optional headers to include in the request.' },
          body: { description: 'Optional request body. Strings sent raw, objects JSON-encoded.' },
          timeout_ms: { type: 'integer', minimum: 1, description: 'Optional timeout override in milliseconds.' },
        },
      },
      outputSchema: {
        type: 'object',
        required: ['status_code', 'status_text', 'headers', 'body', 'duration_ms'],
        properties: { status_code: { type: 'integer' }, status_text: { type: 'string' }, headers: STRING_MAP, body: { type: 'string' }, body_truncated: { type: 'boolean' }, duration_ms: { type: 'integer' } },
      },
    },
    {
      id: 'cp__read_file',
      description: 'Read UTF-8 text content from the sandboxed filesystem.',
      inputSchema: { type: 'object', required: ['path'], properties: { path: { type: 'string', description: 'Path to the file to read relative to the configured sandbox root.' } } },
      outputSchema: { type: 'object', required: ['content', 'metadata'], properties: { content: { type: 'string' }, metadata: FILE_METADATA } },
    },
    {
      id: 'cp__write_file',
      description: 'Write UTF-8 content to a file inside the sandboxed filesystem.',
      inputSchema: {
        type: 'object',
        required: ['path', 'content'],
        properties: {
          path: { type: 'string', description: 'Path to the file to write relative to the configured sandbox root.' },
          content: { type: 'string', description: 'UTF-8 content to write to the file.' },
          append: { type: 'boolean', description: 'Append to the existing file instead of truncating it.' },
          mode: { type: 'integer', description: 'Optional POSIX file mode (e.g., 420 for 0644).' },
        },
      },
      outputSchema: { type: 'object', required: ['success', 'metadata'], properties: { success: { type: 'boolean' }, metadata: FILE_METADATA } },
    },
    {
      id: 'cp__delete_file',
      description: 'Delete a file or directory inside the sandboxed filesystem.',
      inputSchema: {
        type: 'object',
        required: ['path'],
        properties: {
          path: { type: 'string', description: 'Path to the file or directory to delete relative to the sandbox root.' },
          recursive: { type: 'boolean', description: 'Allow recursive deletion when the path is a directory.' },
        },
      },
      outputSchema: { type: 'object', required: ['success'], properties: { success: { type: 'boolean' } } },
    },
    {
      id: 'cp__list_dir',
      description: 'List directory contents inside the sandboxed filesystem.',
      inputSchema: {
        type: 'object',
        required: ['path'],
        properties: {
          path: { type: 'string', description: 'Directory path relative to the sandbox root to enumerate.' },
          pattern: { type: 'string', description: 'Optional glob (with **) applied to paths relative to the requested directory.' },
          recursive: { type: 'boolean', description: 'Whether to traverse the directory tree recursively.' },
          include_files: { type: 'boolean', description: 'Include files in the response (defaults to true).' },
          include_dirs: { type: 'boolean', description: 'Include directories in the response (defaults to true).' },
          page_size: { type: 'integer', description: 'Number of entries to return in this page (defaults to 200, max 10,000).' },
          page_token: { type: 'string', description: 'Continuation token from a previous response.' },
        },
      },
      outputSchema: {
        type: 'object',
        required: ['entries'],
        properties: {
          entries: {
            type: 'array',
            items: { type: 'object', required: ['name', 'path', 'type', 'modified'], properties: { name: { type: 'string' }, path: { type: 'string' }, type: { type: 'string', enum: ['file', 'dir'] }, size: { type: 'integer' }, modified: { type: 'string' } } },
          },
          next_page_token: { type: 'string', description: 'Token to request the next page of results when present.' },
        },
      },
    },
    {
      id: 'cp__grep',
      description: 'Search for a regular expression across files in the sandboxed filesystem.',
      inputSchema: {
        type: 'object',
        required: ['pattern', 'path'],
        properties: {
          pattern: { type: 'string', description: 'Regular expression used to match file contents.' },
          path: { type: 'string', description: 'File or directory path relative to the sandbox root.' },
          recursive: { type: 'boolean', description: 'Traverse directories recursively when the path is a directory.' },
          ignore_case: { type: 'boolean', description: 'Perform case-insensitive matching.' },
          max_results: { type: 'integer', description: 'Upper bound on matches to return (defaults to 1,000).' },
          max_files_visited: { type: 'integer', description: 'Upper bound on files inspected during the search (defaults to 10,000).' },
          max_file_bytes: { type: 'integer', description: 'Skip files larger than this many bytes (default 1 MiB).' },
        },
      },
      outputSchema: {
        type: 'object',
        required: ['matches'],
        properties: { matches: { type: 'array', items: { type: 'object', required: ['file', 'line', 'column', 'text'], properties: { file: { type: 'string' }, line: { type: 'integer' }, column: { type: 'integer' }, text: { type: 'string' } } } } },
      },
    },
    {
      id: 'cp__list_agents',
      description: 'List available agents and their actions in the current project',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object', required: ['agents'], properties: { agents: { type: 'array', items: { type: 'object', required: ['agent_id'], properties: { agent_id: { type: 'string' }, actions: { type: 'array', items: { type: 'string' } } } } } } },
    },
    {
      id: 'cp__describe_agent',
      description: "Describe an agent's available actions and input hints",
      inputSchema: { type: 'object', required: ['agent_id'], properties: { agent_id: { type: 'string' } } },
      outputSchema: { type: 'object', required: ['agent_id'], properties: { agent_id: { type: 'string' }, actions: { type: 'array', items: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, prompt: { type: 'string' } } } } } },
    },
    {
      id: 'cp__list_files',
      description: 'List files within a sandboxed directory applying optional exclusion globs.',
      inputSchema: {
        type: 'object',
        required: ['dir'],
        properties: {
          dir: { type: 'string', description: 'Directory to enumerate relative to the sandbox root.' },
          exclude: { description: 'Optional glob pattern or array of patterns to remove from the result set.', oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
          recursive: { type: 'boolean', description: 'Traverse the directory tree recursively when true.' },
        },
      },
      outputSchema: { type: 'object', required: ['files'], properties: { files: { type: 'array', items: { type: 'string' } } } },
    },
    {
      id: 'cp__call_agent',
      description: 'Execute a single agent action or prompt by identifier.',
      inputSchema: AGENT_CALL,
      outputSchema: { type: 'object', required: ['success', 'agent_id'], properties: { success: { type: 'boolean' }, agent_id: { type: 'string' }, action_id: { type: 'string' }, exec_id: { type: 'string' }, response: OBJECT } },
    },
    {
      id: 'cp__call_agents',
      description: 'Execute several agents (in parallel up to the configured limit) and return every result in input order.',
      inputSchema: { type: 'object', properties: { agents: { type: 'array', minItems: 1, items: AGENT_CALL } }, required: ['agents'], additionalProperties: false },
      outputSchema: MANY_RESULTS,
    },
    {
      id: 'cp__call_task',
      description: 'Execute a task of the project by identifier.',
      inputSchema: TASK_CALL,
      outputSchema: { type: 'object', required: ['success', 'task_id', 'exec_id'], properties: { success: { type: 'boolean' }, task_id: { type: 'string' }, exec_id: { type: 'string' }, output: OBJECT, duration_ms: { type: 'integer' } } },
    },
    {
      id: 'cp__call_workflow',
      description: 'Execute a workflow of the project by identifier and wait for its result.',
      inputSchema: WORKFLOW_CALL,
      outputSchema: { type: 'object', required: ['success', 'workflow_id', 'workflow_exec_id'], properties: { success: { type: 'boolean' }, workflow_id: { type: 'string' }, workflow_exec_id: { type: 'string' }, status: { type: 'string', enum: ['SUCCESS', 'FAILED', 'TIMED_OUT', 'CANCELED', ''] }, output: OBJECT, duration_ms: { type: 'integer' } } },
    },
    {
      id: 'cp__call_tasks',
      description: 'Execute several tasks (in parallel up to the configured limit) and return every result in input order.',
      inputSchema: { type: 'object', properties: { tasks: { type: 'array', minItems: 1, items: TASK_CALL } }, required: ['tasks'], additionalProperties: false },
      outputSchema: MANY_RESULTS,
    },
    {
      id: 'cp__call_workflows',
      description: 'Execute several workflows (in parallel up to the configured limit) and return every result in input order.',
      inputSchema: { type: 'object', properties: { workflows: { type: 'array', minItems: 1, items: WORKFLOW_CALL } }, required: ['workflows'], additionalProperties: false },
      outputSchema: MANY_RESULTS,
    },
    {
      id: 'cp__agent_orchestrate',
      description: 'Compile and execute multi-agent plans expressed inline from the calling prompt.',
      inputSchema: ORCHESTRATE_INPUT_SCHEMA,
      outputSchema: ORCHESTRATE_OUTPUT_SCHEMA,
    },
  ];
  return specs.filter((spec) => nativeToolSection(spec.id, config)?.enabled !== false);
}

/**
 * Runs the built-in tools in this process: the input is checked against the tool's input schema, file
 * tools stay inside root_dir/additional_roots and out of the state folder, exec and fetch within
 * their configured limits.
 */
export class NativeTools {
  private readonly specs: Map<string, NativeToolSpec>;
  private readonly roots: Roots;
  private readonly policies: ReturnType<typeof commandPolicies>;
  private readonly schemas = new SchemaValidator();

  constructor(
    private readonly config: NativeToolsConfig,
    private readonly options: { protectedPaths: readonly string[]; agents: AgentCatalog; calls?: () => NativeCalls | undefined },
  ) {
    this.policies = commandPolicies(config);
    this.specs = new Map(nativeToolSpecs(config, this.policies).map((spec) => [spec.id, spec]));
    this.roots = new Roots([config.rootDir, ...config.additionalRoots], options.protectedPaths);
  }

  has(id: string): boolean {
    return this.specs.has(id);
  }

  async call(id: string, input: Record<string, unknown>, options: { timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const spec = this.specs.get(id);
    if (!spec) throw new CompozyError('TOOL_NOT_FOUND', `Built-in tool "${id}" is not enabled.`, { hint: 'Add runtime.native_tools: to compozy.yaml.' });
    const problems = this.schemas.problems(spec.inputSchema, input);
    if (problems.length > 0) {
      throw new CompozyError('TOOL_INPUT_INVALID', `Input for tool "${id}" does not match its input schema: ${describeProblems(problems)}.`, { details: { errors: problems, code: 'InvalidArgument', tool: id } });
    }
    switch (spec.id) {
      case 'cp__exec':
        return execCommand(this.config, this.policies, this.roots, input as unknown as ExecInput, options.timeoutMs);
      case 'cp__fetch':
        return fetchUrl(this.config, input as unknown as FetchInput, options.timeoutMs);
      case 'cp__read_file':
        return readFile(this.roots, input as { path: string });
      case 'cp__write_file':
        return writeFile(this.roots, input as { path: string; content: string; append?: boolean; mode?: number });
      case 'cp__list_files':
        return listFiles(this.roots, input as { dir: string; exclude?: unknown; recursive?: boolean });
      case 'cp__delete_file':
        return deleteFile(this.roots, input as { path: string; recursive?: boolean });
      case 'cp__list_dir':
        return listDir(this.roots, input as unknown as ListDirInput);
      case 'cp__grep':
        return grep(this.roots, input as unknown as GrepInput);
      case 'cp__list_agents':
        return listAgents(this.options.agents);
      case 'cp__describe_agent':
        return describeAgent(this.options.agents, input as { agent_id: string });
      case 'cp__call_agent':
        return callAgent(this.engine(id), this.config, input as unknown as AgentCallInput);
      case 'cp__call_agents':
        return callAgents(this.engine(id), this.config, input as { agents: AgentCallInput[] });
      case 'cp__call_task':
        return callTask(this.engine(id), this.config, input as unknown as TaskCallInput);
      case 'cp__call_tasks':
        return callTasks(this.engine(id), this.config, input as { tasks: TaskCallInput[] });
      case 'cp__call_workflow':
        return callWorkflow(this.engine(id), this.config, input as unknown as WorkflowCallInput);
      case 'cp__call_workflows':
        return callWorkflows(this.engine(id), this.config, input as { workflows: WorkflowCallInput[] });
      case 'cp__agent_orchestrate':
        return orchestrate(this.engine(id), this.config, input as OrchestrateInput);
    }
  }

  private engine(id: string): NativeCalls {
    const calls = this.options.calls?.();
    if (!calls) throw new CompozyError('WORKER_UNAVAILABLE', `${id} needs the engine to start executions, and this process has none.`, { hint: 'Run the tool where tasks run: compozy dev, compozy worker or a test environment.' });
    return calls;
  }
}
