import { resolveEnvReferences } from '../config/secrets.js';
import type { ModelConfig } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { templates } from '../expr/template.js';

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

function fromConfig(config: ModelConfig, env: NodeJS.ProcessEnv): ResolvedModel {
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
export function resolveModel(ref: string | ModelConfig | undefined, models: readonly ModelConfig[], env: NodeJS.ProcessEnv): ResolvedModel {
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
