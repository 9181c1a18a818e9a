import { CompozyError } from '../errors.js';

/**
 * The providers compozy knows and what each needs, without loading any AI SDK client: validation,
 * doctor and health read it, and only a real model call pays for the SDK.
 */

/** OpenAI-compatible servers by provider name, with their usual base URL and key variable. */
export const COMPATIBLE: Readonly<Record<string, { baseURL: string; keyVar?: string }>> = {
  ollama: { baseURL: 'http://localhost:11434/v1' },
  openrouter: { baseURL: 'https://openrouter.ai/api/v1', keyVar: 'OPENROUTER_API_KEY' },
  deepseek: { baseURL: 'https://api.deepseek.com/v1', keyVar: 'DEEPSEEK_API_KEY' },
  xai: { baseURL: 'https://api.x.ai/v1', keyVar: 'XAI_API_KEY' },
  cerebras: { baseURL: 'https://api.cerebras.ai/v1', keyVar: 'CEREBRAS_API_KEY' },
  vllm: { baseURL: 'http://localhost:8000/v1' },
  lmstudio: { baseURL: 'http://localhost:1234/v1' },
};

/** A model's `params:` (reference §1.2) that compozy passes to the AI SDK, by the SDK's setting name. */
export const MODEL_PARAMS: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  max_tokens: 'maxOutputTokens',
  top_p: 'topP',
  top_k: 'topK',
  seed: 'seed',
  stop_words: 'stopSequences',
  frequency_penalty: 'frequencyPenalty',
  presence_penalty: 'presencePenalty',
};

export const PROVIDERS: readonly string[] = ['openai', 'anthropic', 'groq', 'openai-compatible', ...Object.keys(COMPATIBLE), 'replay'];

/** The variable the AI SDK reads a provider's key from when the model has no api_key. */
const KEY_VARIABLES: Readonly<Record<string, string>> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', groq: 'GROQ_API_KEY' };

export function isKnownProvider(provider: string): boolean {
  return PROVIDERS.includes(provider);
}

export function unknownProvider(provider: string): CompozyError {
  return new CompozyError('LLM_PROVIDER_UNKNOWN', `Provider "${provider}" is not supported.`, { hint: `Use one of: ${PROVIDERS.join(', ')}.` });
}

/** The environment variable that holds a provider's key when the model sets no api_key; none for local servers. */
export function providerKeyVariable(provider: string): string | undefined {
  return KEY_VARIABLES[provider] ?? COMPATIBLE[provider]?.keyVar;
}
