import { parseDuration } from '../config/duration.js';
import { projectEnv, type AppSettings } from '../config/settings.js';
import type { ProjectConfig } from '../config/types.js';
import { compileProject } from '../engine/project.js';
import { LlmAgents } from '../llm/agent-runner.js';
import type { ModelScript } from '../llm/replay.js';
import { modelSummarizers } from '../memory/flush/model-summarizer.js';
import type { MemoryManager } from '../memory/service.js';
import { toolInvoker } from '../server/engine-deps.js';
import type { RuntimeOverrides, RuntimeTools } from '../server/runtime.js';

/** A tool's scripted result: a value, or a function of the tool's input. */
export type ToolScript = Record<string, unknown> | ((input: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>);

/** The project's tool pool, with scripted tools answered here instead. */
function scriptedTools(pool: RuntimeTools, scripts: Readonly<Record<string, ToolScript>>): RuntimeTools {
  return {
    async call(toolId, input, options) {
      const script = scripts[toolId];
      if (script === undefined) return pool.call(toolId, input, options);
      return typeof script === 'function' ? script(input) : script;
    },
    bindEngine: (engine) => pool.bindEngine?.(engine),
    close: (graceMs) => pool.close(graceMs),
    health: () => pool.health(),
  };
}

/**
 * The runtime adapters of a test environment: the project's tool pool behind the scripted tools, and
 * the LLM layer answering every call from `script` (the same prompt rendering, JSON parsing and
 * output-schema checks as a real model's answer), the summaries of memories with a summary_model too.
 */
export function scriptedAdapters(config: ProjectConfig, settings: AppSettings, script: ModelScript, toolScripts: Readonly<Record<string, ToolScript>>, log: (line: string) => void): RuntimeOverrides {
  const project = compileProject(config, settings.maxNestingDepth.value);
  const pool = toolInvoker(config, project, { defaultTimeoutMs: parseDuration(settings.toolExecutionTimeout.value), poolSize: settings.toolPoolSize.value, log, runsTasks: true });
  const tools = scriptedTools(pool, toolScripts);
  const env = projectEnv(config.dir);
  const agents = (memory: MemoryManager) =>
    new LlmAgents({
      projectDir: config.dir,
      models: config.models,
      resources: project.resources,
      tools,
      env,
      structuredOutputRetries: settings.structuredOutputRetries.value,
      script,
      memory,
    });
  return { tools, agents, modelSummarizer: modelSummarizers({ projectDir: config.dir, models: config.models, env, script }) };
}
