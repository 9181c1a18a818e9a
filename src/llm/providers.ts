import { createAnthropic } from '@ai-sdk/anthropic';
import { createGroq } from '@ai-sdk/groq';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { CompozyError } from '../errors.js';
import type { ResolvedModel } from './models.js';

/** OpenAI-compatible servers by provider name, with their usual base URL and key variable. */
const COMPATIBLE: Record<string, { baseURL: string; keyVar?: string }> = {
  ollama: { baseURL: 'http://localhost:11434/v1' },
  openrouter: { baseURL: 'https://openrouter.ai/api/v1', keyVar: 'OPENROUTER_API_KEY' },
  deepseek: { baseURL: 'https://api.deepseek.com/v1', keyVar: 'DEEPSEEK_API_KEY' },
  xai: { baseURL: 'https://api.x.ai/v1', keyVar: 'XAI_API_KEY' },
  cerebras: { baseURL: 'https://api.cerebras.ai/v1', keyVar: 'CEREBRAS_API_KEY' },
  vllm: { baseURL: 'http://localhost:8000/v1' },
  lmstudio: { baseURL: 'http://localhost:1234/v1' },
};

const PROVIDERS = ['openai', 'anthropic', 'groq', 'openai-compatible', ...Object.keys(COMPATIBLE), 'replay'] as const;

/** Ollama's documented URL is the server root; its OpenAI-compatible API lives under /v1. */
function compatibleUrl(provider: string, apiUrl: string | undefined): string {
  if (!apiUrl) return COMPATIBLE[provider]?.baseURL ?? '';
  return provider === 'ollama' && !/\/v1\/?$/.test(apiUrl) ? `${apiUrl.replace(/\/$/, '')}/v1` : apiUrl;
}

/** The AI SDK model for a resolved model (every provider but `replay`, which never reaches the network). */
export function languageModel(model: ResolvedModel, env: NodeJS.ProcessEnv = process.env): LanguageModel {
  const common = { ...(model.apiKey ? { apiKey: model.apiKey } : {}), ...(model.apiUrl ? { baseURL: model.apiUrl } : {}) };
  switch (model.provider) {
    case 'openai':
      return createOpenAI(common).chat(model.model);
    case 'anthropic':
      return createAnthropic(common).messages(model.model);
    case 'groq':
      return createGroq(common)(model.model);
    default: {
      const known = COMPATIBLE[model.provider];
      if (!known && model.provider !== 'openai-compatible') {
        throw new CompozyError('LLM_PROVIDER_UNKNOWN', `Provider "${model.provider}" is not supported.`, { hint: `Use one of: ${PROVIDERS.join(', ')}.` });
      }
      const baseURL = compatibleUrl(model.provider, model.apiUrl);
      if (!baseURL) throw new CompozyError('LLM_PROVIDER_UNKNOWN', `Model ${model.provider}:${model.model} needs api_url (the server's OpenAI-compatible base URL).`);
      const apiKey = model.apiKey ?? (known?.keyVar ? env[known.keyVar] : undefined);
      return createOpenAICompatible({ name: model.provider, baseURL, ...(apiKey ? { apiKey } : {}) }).chatModel(model.model);
    }
  }
}
