import { MEMORY_ROLES, type MemoryMessage } from './types.js';

/** Counts a message's tokens the way the reference does: content + role + 2 for the message framing. */
export interface TokenCounter {
  readonly encoding: string;
  count(message: MemoryMessage): number;
}

/** The encoding memories use without a token_provider: the one of current OpenAI models (gpt-tokenizer's default). */
export const DEFAULT_ENCODING = 'o200k_base';

const MESSAGE_OVERHEAD = 2;

interface Encoding {
  countTokens(text: string): number;
}

const loading = new Map<string, Promise<TokenCounter>>();

/**
 * gpt-tokenizer, loaded on first use: its BPE tables take ~150 ms to parse, which processes that never
 * touch memory should not pay. Pure JS and synchronous once loaded (js-tiktoken needs the same tables and
 * has no per-encoding entry points to load lazily).
 */
export function loadTokenCounter(encoding: string): Promise<TokenCounter> {
  let counter = loading.get(encoding);
  if (!counter) {
    counter = (import(`gpt-tokenizer/encoding/${encoding}`) as Promise<Encoding>).then((module): TokenCounter => {
      const roles = new Map(MEMORY_ROLES.map((role) => [role, module.countTokens(role)]));
      return { encoding, count: (message) => module.countTokens(message.content) + (roles.get(message.role) ?? module.countTokens(message.role)) + MESSAGE_OVERHEAD };
    });
    loading.set(encoding, counter);
  }
  return counter;
}
