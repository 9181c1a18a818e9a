import { existsSync } from 'node:fs';
import { resolveEnvReferences } from '../config/secrets.js';
import { modelUses, type ModelUse } from '../config/model-uses.js';
import type { ModelConfig, ModelSpec, ProjectConfig } from '../config/types.js';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { CompozyError } from '../errors.js';
import { templates } from '../expr/template.js';
import { isKnownProvider, providerKeyVariable, unknownProvider } from '../config/providers.js';
import { ReplayFixtures } from './replay.js';

/** A model ready to call: provider and model id, credentials resolved from the environment. */
export interface ResolvedModel {
  provider: string;
  model: string;
  apiKey?: string;
  apiUrl?: string;
  params: Record<string, unknown>;
}

function label(m: Pick<ModelConfig, 'provider' | 'model'>): string {
  return `${m.provider}:${m.model}`;
}

function fromConfig(config: ModelSpec, env: NodeJS.ProcessEnv): ResolvedModel {
  const apiKey = config.apiKey === undefined ? undefined : resolveEnvReferences(config.apiKey, env, `api_key of model ${label(config)}`);
  const apiUrl = config.apiUrl === undefined ? undefined : resolveEnvReferences(config.apiUrl, env, `api_url of model ${label(config)}`);
  return { provider: config.provider, model: config.model, params: config.params, ...(apiKey ? { apiKey } : {}), ...(apiUrl ? { apiUrl } : {}) };
}

/**
 * The model an agent or prompt task uses (reference §1.2, §2.3): a `provider:model` ref (credentials from
 * the matching declared model, else the provider's usual environment variable), a declared model's id,
 * an inline model, or — when none is given — the project's `default: true` model. A ref may be a
 * template over `.env`, e.g. `{{ if get .env "GROQ_API_KEY" }}groq:llama-3.3-70b-versatile{{ else }}replay:weather{{ end }}`.
 */
export function resolveModel(ref: string | ModelSpec | undefined, models: readonly ModelConfig[], env: NodeJS.ProcessEnv): ResolvedModel {
  if (ref !== undefined && typeof ref !== 'string') return fromConfig(ref, env);
  const text = ref === undefined ? '' : ref.includes('{{') ? templates.renderString(ref, { env: { ...env } }).trim() : ref.trim();
  if (text === '') {
    const fallback = models.find((m) => m.isDefault);
    if (!fallback) {
      throw new CompozyError('LLM_MODEL_NOT_FOUND', 'No model is set for this agent and the project has no default model.', {
        hint: 'Give the agent model: provider:model, or mark one of the project models default: true.',
      });
    }
    return fromConfig(fallback, env);
  }
  const colon = text.indexOf(':');
  if (colon > 0) {
    const provider = text.slice(0, colon);
    const model = text.slice(colon + 1);
    const declared = models.find((m) => m.provider === provider && m.model === model);
    return declared ? fromConfig(declared, env) : { provider, model, params: {} };
  }
  const declared = models.find((m) => m.model === text);
  if (!declared) {
    throw new CompozyError('LLM_MODEL_NOT_FOUND', `Model "${text}" is not declared in the project.`, {
      hint: `Write it as provider:model, or declare it under models: (declared: ${models.map(label).join(', ') || 'none'}).`,
    });
  }
  return fromConfig(declared, env);
}

/**
 * Why a resolved model cannot be called here, found before any request: an unknown provider, a
 * generic OpenAI-compatible server without api_url, no key where the provider needs one, or a replay
 * model without its fixtures file.
 */
export function modelUnusable(model: ResolvedModel, env: NodeJS.ProcessEnv, projectDir: string): CompozyError | undefined {
  const name = label(model);
  if (!isKnownProvider(model.provider)) return unknownProvider(model.provider);
  if (model.provider === 'openai-compatible' && !model.apiUrl) {
    return new CompozyError('LLM_PROVIDER_UNKNOWN', `Model ${name} needs api_url (the server's OpenAI-compatible base URL).`, { hint: 'Add api_url: to the model under models:.' });
  }
  if (model.provider === 'replay') {
    const file = ReplayFixtures.path(projectDir, model.model);
    return existsSync(file) ? undefined : new CompozyError('LLM_REPLAY_MISSING', `Model ${name} answers from its fixtures, and ${file} does not exist.`, { hint: 'Create it with answers: [{agent, action, output}], or choose another model.' });
  }
  const keyVariable = providerKeyVariable(model.provider);
  if (keyVariable && !model.apiKey && !env[keyVariable]) {
    return new CompozyError('LLM_AUTH_FAILED', `Model ${name} has no API key: ${keyVariable} is not set and the model has no api_key.`, {
      hint: `Export ${keyVariable} or add it to the project's .env (or set api_key: "{{ .env.${keyVariable} }}" on the model).`,
    });
  }
  return undefined;
}

export interface ModelUseCheck extends ModelUse {
  model?: ResolvedModel;
  problem?: CompozyError;
}

/**
 * The model each use resolves to in this environment (templated refs rendered, keys looked up), and
 * what would stop it from answering. `config validate`, doctor and the llm health row report these.
 */
export function checkModelUses(project: ProjectConfig, env: NodeJS.ProcessEnv): ModelUseCheck[] {
  return modelUses(project).map((use) => {
    try {
      const model = resolveModel(use.ref, project.models, env);
      const problem = modelUnusable(model, env, project.dir);
      return { ...use, model, ...(problem ? { problem } : {}) };
    } catch (error) {
      if (!(error instanceof CompozyError)) throw error;
      return { ...use, problem: error };
    }
  });
}

/** The problems of checkModelUses as diagnostics at the `model:` that chose each model (or its agent or task). */
export function modelDiagnostics(project: ProjectConfig, env: NodeJS.ProcessEnv): ConfigDiagnostic[] {
  return checkModelUses(project, env).flatMap((check) =>
    check.problem ? [check.at.file.diagnostic([...check.at.path, ...check.key], `The ${check.user} cannot call its model here: ${check.problem.message}`, check.problem.hint)] : [],
  );
}
