import type { MemoryFlushStrategy, MemoryResource } from '../../config/types.js';
import type { StoredEntry, StoredMessage } from '../store/memory-store.js';

/** What stats report as token_limit when a resource sets none (engine/memory/router: 128,000). */
export const DEFAULT_TOKEN_LIMIT = 128_000;

// After a flush, how full the memory is left (engine/memory/instance/strategies): simple_fifo 50 %,
// lru 60 % of max_messages, token_aware_lru 50 % of the token limit (60 % of max_messages).
const FIFO_TARGET = 0.5;
const LRU_MESSAGE_TARGET = 0.6;
const TOKEN_LRU_TARGET = 0.5;

/** max_tokens, or max_context_ratio of the token_provider model's context window; the smaller when both. */
export function tokenLimit(resource: MemoryResource): number | undefined {
  const window = resource.tokenProvider?.contextWindow;
  const fromRatio = resource.maxContextRatio !== undefined && window !== undefined ? Math.floor(resource.maxContextRatio * window) : undefined;
  if (resource.maxTokens !== undefined && fromRatio !== undefined) return Math.min(resource.maxTokens, fromRatio);
  return resource.maxTokens ?? fromRatio;
}

/** Reference §5.5 thresholds: a limit × summarize_threshold (0.8 by default) reached. */
export function shouldFlush(resource: MemoryResource, tokens: number, messages: number, threshold = resource.flushing.summarizeThreshold): boolean {
  const limit = tokenLimit(resource);
  if (limit !== undefined && tokens >= limit * threshold) return true;
  return resource.maxMessages !== undefined && messages >= resource.maxMessages * threshold;
}

/** The head of the list a flush replaces, and what takes its place. */
export interface FlushPlan {
  /** The first entries of the list as read; the KV swaps them only if the head is still the same. */
  head: StoredEntry[];
  /** The messages of `head` that stay, in order, plus a summary for hybrid_summary. */
  replacement: StoredMessage[];
  summaryGenerated: boolean;
}

function total(entries: readonly StoredEntry[]): number {
  return entries.reduce((sum, e) => sum + e.message.tokens, 0);
}

/** Drops entries, oldest first, until the remaining ones fit; the newest always stays. */
function dropOldest(entries: readonly StoredEntry[], fits: (count: number, tokens: number) => boolean): number {
  let tokens = total(entries);
  let dropped = 0;
  while (dropped < entries.length - 1 && !fits(entries.length - dropped, tokens)) {
    tokens -= (entries[dropped] as StoredEntry).message.tokens;
    dropped++;
  }
  return dropped;
}

function headPlan(entries: readonly StoredEntry[], evicted: ReadonlySet<number>): FlushPlan {
  const last = Math.max(-1, ...evicted);
  const head = entries.slice(0, last + 1);
  return { head, replacement: head.filter((_, i) => !evicted.has(i)).map((e) => e.message), summaryGenerated: false };
}

/**
 * Which entries to evict, in eviction order: oldest first (fifo, and lru: a conversation memory is used
 * whole on every read, so the least recently used message is the least recently written one); with
 * priority, messages holding a priority keyword and system messages go last.
 */
function evictionOrder(resource: MemoryResource, entries: readonly StoredEntry[]): number[] {
  const order = entries.map((_, i) => i);
  if (resource.evictionPolicy.type !== 'priority') return order;
  const keywords = resource.evictionPolicy.priorityKeywords.map((k) => k.toLowerCase());
  const important = (e: StoredEntry) => e.message.role === 'system' || keywords.some((k) => e.message.content.toLowerCase().includes(k));
  return [...order.filter((i) => !important(entries[i] as StoredEntry)), ...order.filter((i) => important(entries[i] as StoredEntry))];
}

function evict(resource: MemoryResource, entries: readonly StoredEntry[], fits: (count: number, tokens: number) => boolean): FlushPlan {
  const evicted = new Set<number>();
  let tokens = total(entries);
  for (const i of evictionOrder(resource, entries)) {
    if (fits(entries.length - evicted.size, tokens) || evicted.size === entries.length - 1) break;
    evicted.add(i);
    tokens -= (entries[i] as StoredEntry).message.tokens;
  }
  return headPlan(entries, evicted);
}

/** The eviction plans; hybrid_summary is planned by the caller, which needs its summarizer. */
export function evictionPlan(strategy: Exclude<MemoryFlushStrategy, 'hybrid_summary'>, resource: MemoryResource, entries: readonly StoredEntry[]): FlushPlan {
  const limit = tokenLimit(resource);
  const maxMessages = resource.maxMessages;
  switch (strategy) {
    case 'simple_fifo': {
      const dropped = dropOldest(entries, (count, tokens) => (maxMessages === undefined || count <= Math.floor(maxMessages * FIFO_TARGET)) && (limit === undefined || tokens <= limit * FIFO_TARGET));
      return { head: entries.slice(0, dropped), replacement: [], summaryGenerated: false };
    }
    case 'lru': {
      const target = Math.floor((maxMessages ?? entries.length) * LRU_MESSAGE_TARGET);
      return evict(resource, entries, (count) => count <= target);
    }
    case 'token_aware_lru':
      if (limit !== undefined && resource.type !== 'message_count_based') return evict(resource, entries, (_, tokens) => tokens <= limit * TOKEN_LRU_TARGET);
      return evict(resource, entries, (count) => count <= Math.floor((maxMessages ?? entries.length) * LRU_MESSAGE_TARGET));
  }
}

/**
 * hybrid_summary: the oldest summarize_oldest_percent of the messages (at least one, never the newest;
 * an earlier summary at the head is folded in again) become one system message.
 */
export function summaryHead(resource: MemoryResource, entries: readonly StoredEntry[]): StoredEntry[] {
  if (entries.length < 2) return [];
  const n = Math.min(entries.length - 1, Math.max(1, Math.floor(entries.length * resource.flushing.summarizeOldestPercent)));
  const start = entries[0]?.message.summary && n === 1 && entries.length > 2 ? 2 : n;
  return entries.slice(0, start);
}
