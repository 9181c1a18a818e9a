import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadValidProject } from '../../src/config/valid-project.js';
import { EngineActivities } from '../../src/engine/activities/engine-activities.js';
import { EngineClient } from '../../src/engine/client.js';
import type { AgentRequest, MemoryOperation } from '../../src/engine/executors.js';
import { compileProject, type EngineProject } from '../../src/engine/project.js';
import type { ExecutionStore, WorkflowExecutionWithTasks } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { EventBus } from '../../src/engine/events.js';
import type { Consumer } from '../../src/kv/kv.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { REPO } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

/** Built by `npm run build` (npm test runs it first), as workers in production load it. */
export const WORKFLOW_BUNDLE = join(REPO, 'dist', 'workflow-bundle.js');

/** Fake tools: enough behaviours to drive every task type without a tool runtime. */
export function createFakeTools() {
  const calls: { tool: string; input: Record<string, unknown> }[] = [];
  const attempts = new Map<string, number>();
  return {
    calls,
    async call(tool: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
      calls.push({ tool, input });
      switch (tool) {
        case 'echo':
        case 'report':
          return input;
        case 'weather_tool':
          return { temperature: 20, humidity: 50, weather: 'Clear sky' };
        case 'save_data':
          return { success: true, format: input.format, filename: `results.${String(input.format)}` };
        case 'fail':
          throw new Error(String(input.message ?? 'tool failed'));
        case 'flaky': {
          const key = String(input.key);
          const n = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, n);
          if (n <= Number(input.failures)) throw new Error(`flaky failure ${n}`);
          return { attempts: n };
        }
        case 'sleep':
          await sleep(Number(input.ms));
          if (input.fail) throw Object.assign(new Error(String(input.fail)), { code: input.code ?? 'TOOL_INPUT_INVALID' });
          return { slept: Number(input.ms), label: input.label ?? null };
        default:
          throw new Error(`fake tool ${tool} does not exist`);
      }
    },
  };
}

export type AgentScript = (request: AgentRequest) => Record<string, unknown>;

export interface Harness {
  temporal: TestTemporal;
  store: ExecutionStore;
  client: Client;
  tools: ReturnType<typeof createFakeTools>;
  memoryCalls: MemoryOperation[];
  agents: Map<string, AgentScript>;
  worker: Worker;
  taskQueue: string;
  engine(project: EngineProject): EngineClient;
  /** Starts through the engine client and waits for the end; returns the stored execution. */
  run(project: EngineProject, workflowId: string, input?: unknown): Promise<WorkflowExecutionWithTasks>;
  finish(execId: string): Promise<WorkflowExecutionWithTasks>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Wraps the harness's store before the engine uses it (e.g. to count what it reads). */
  wrapStore?: (store: ExecutionStore) => ExecutionStore;
}

export async function startHarness(temporalBin: string, taskQueue = 'engine-test', dynamicConfig: string[] = [], options: HarnessOptions = {}): Promise<Harness> {
  // Expected task failures would otherwise each print a warning with a stack.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const temporal = await startTemporal(temporalBin, dynamicConfig);
  try {
    return await connectHarness(temporal, taskQueue, options);
  } catch (error) {
    await temporal.stop();
    throw error;
  }
}

async function connectHarness(temporal: TestTemporal, taskQueue: string, options: HarnessOptions): Promise<Harness> {
  const opened = SqliteStore.open(':memory:');
  const store = options.wrapStore ? options.wrapStore(opened) : opened;
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const tools = createFakeTools();
  const memoryCalls: MemoryOperation[] = [];
  const agents = new Map<string, AgentScript>();
  const engines = new Map<EngineProject, EngineClient>();
  const kv = SqliteKv.open(':memory:');
  const buses = new Map<EngineProject, EventBus>();
  const dispatchers: Consumer[] = [];
  let current: EngineProject | undefined;
  const engine = (project: EngineProject): EngineClient => {
    current = project;
    let found = engines.get(project);
    if (!found) {
      found = new EngineClient({ client, store, project, taskQueue, workerAvailable: async () => true });
      engines.set(project, found);
    }
    return found;
  };
  const activities = new EngineActivities({
    store,
    tools,
    memory: {
      async execute(operation) {
        memoryCalls.push(operation);
        return { operation: operation.operation, key: operation.key, success: true };
      },
    },
    agents: {
      async run(request) {
        const script = agents.get(`${request.agentId}/${request.actionId ?? ''}`) ?? agents.get(String(request.agentId));
        if (!script) throw new Error(`no scripted agent for ${request.agentId}/${request.actionId}`);
        return { output: script(request) };
      },
    },
    signals: {
      async dispatch(name, payload, source) {
        const project = current;
        if (!project) throw new Error('no project');
        let bus = buses.get(project);
        if (!bus) {
          bus = new EventBus(kv.broker, project);
          buses.set(project, bus);
          await bus.setup();
          dispatchers.push(await bus.startDispatcher(engine(project), (error) => console.error(error)));
        }
        return bus.dispatch(name, payload, source);
      },
    },
  });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: WORKFLOW_BUNDLE },
    activities: activities.functions(),
  });
  const running = worker.run();
  const finish = async (execId: string) => {
    await client.workflow
      .getHandle(execId)
      .result()
      .catch((error: unknown) => {
        if (!(error instanceof WorkflowFailedError)) throw error;
      });
    const execution = await store.getWorkflowExecution(execId);
    if (!execution) throw new Error(`execution ${execId} missing`);
    return execution;
  };
  return {
    temporal,
    store,
    client,
    tools,
    memoryCalls,
    agents,
    worker,
    taskQueue,
    engine,
    finish,
    async run(project, workflowId, input = {}) {
      const { execId } = await engine(project).start(workflowId, input);
      return finish(execId);
    },
    async close() {
      await Promise.all(dispatchers.map((d) => d.cancel()));
      worker.shutdown();
      await running;
      await kv.close();
      await nativeConnection.close();
      await connection.close();
      await store.close();
      await temporal.stop();
    },
  };
}

/** Writes a project (compozy.yaml listing the given workflow files) and compiles it as serve would. */
export function writeProject(files: Record<string, string>, maxNestingDepth = 20): EngineProject {
  const dir = writeFiles(files);
  if (files['compozy.yaml'] === undefined) {
    const workflows = Object.keys(files).filter((f) => f.startsWith('workflows/'));
    writeFileSync(join(dir, 'compozy.yaml'), `name: ${basename(dir)}\nworkflows:\n${workflows.map((f) => `  - source: ./${f}\n`).join('')}`);
  }
  return compileProject(loadValidProject(dir), maxNestingDepth);
}

export const TOOLS_YAML = `tools:
  - id: echo
  - id: report
  - id: fail
  - id: flaky
  - id: sleep
`;
