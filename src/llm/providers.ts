import { createAnthropic } from '@ai-sdk/anthropic';
import { createGroq } from '@ai-sdk/groq';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { CompozyError } from '../errors.js';
import type { ResolvedModel } from './models.js';
import { COMPATIBLE, unknownProvider } from '../config/providers.js';

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
      if (!known && model.provider !== 'openai-compatible') throw unknownProvider(model.provider);
      const baseURL = compatibleUrl(model.provider, model.apiUrl);
      if (!baseURL) throw new CompozyError('LLM_PROVIDER_UNKNOWN', `Model ${model.provider}:${model.model} needs api_url (the server's OpenAI-compatible base URL).`, { hint: 'Add api_url: to the model under models:.' });
      const apiKey = model.apiKey ?? (known?.keyVar ? env[known.keyVar] : undefined);
      return createOpenAICompatible({ name: model.provider, baseURL, ...(apiKey ? { apiKey } : {}) }).chatModel(model.model);
    }
  }
}
