import { MEMORY_ROLES, type MemoryFlushStrategy } from '../config/types.js';

export { MEMORY_ROLES };
export type MemoryRole = (typeof MEMORY_ROLES)[number];

/** One conversation message as callers see it (the stored form carries bookkeeping fields besides). */
export interface MemoryMessage {
  role: MemoryRole;
  content: string;
}

/** A stored message that could not be decoded: skipped by reads and reported, never fatal. */
export interface SkippedMessage {
  /** Position in the list at the time of the read. */
  index: number;
  reason: string;
}

// Service responses (reference §5.5, engine/memory/service/types.go). Field names are snake_case so that
// templates read them as Compozy's do: {{ .tasks.read_history.output.messages }}.

export interface MemoryReadResult {
  messages: MemoryMessage[];
  count: number;
  key: string;
  /** Present only when some stored messages were corrupt. */
  skipped?: SkippedMessage[];
}

export interface MemoryReadPageResult {
  messages: MemoryMessage[];
  count: number;
  total_count: number;
  offset: number;
  limit: number;
  has_more: boolean;
  key: string;
  skipped?: SkippedMessage[];
}

export interface MemoryWriteResult {
  success: true;
  count: number;
  key: string;
}

export interface MemoryAppendResult {
  success: true;
  appended: number;
  total_count: number;
  key: string;
}

export interface MemoryDeleteResult {
  success: true;
  key: string;
}

export interface MemoryFlushResult {
  success: boolean;
  key: string;
  summary_generated: boolean;
  /** Messages and tokens left after the flush (or now, for a dry run or a flush that was not needed). */
  message_count: number;
  token_count: number;
  dry_run: boolean;
  would_flush: boolean;
  actual_strategy: MemoryFlushStrategy;
  /** Why the flush did not run (another flush holds the key, the list changed under it). */
  error?: string;
}

export interface MemoryClearResult {
  success: true;
  key: string;
  messages_cleared: number;
  backup_created: boolean;
}

export interface MemoryHealthResult {
  healthy: boolean;
  key: string;
  token_count: number;
  message_count: number;
  actual_strategy: MemoryFlushStrategy;
  /** ISO time of the last flush, when there was one. */
  last_flush?: string;
  current_tokens: number;
  /** With include_stats. */
  stats?: MemoryStatsResult;
}

export interface MemoryStatsResult {
  key: string;
  message_count: number;
  token_count: number;
  actual_strategy: MemoryFlushStrategy;
  last_flush: string | null;
  avg_tokens_per_message: number;
  /** The limit flushing works against (max_tokens, or max_context_ratio of the context window). */
  token_limit: number;
  /** token_count / token_limit. */
  token_utilization: number;
  /** Messages per role. */
  role_distribution: Partial<Record<MemoryRole, number>>;
}

/** Counters and flags of one instance, as the store keeps them. */
export interface MemoryMetadata {
  token_count: number;
  message_count: number;
  last_flush: string | null;
  /** Milliseconds until the instance expires; −1 without expiry, −2 when it does not exist. */
  ttl_ms: number;
  flush_pending: boolean;
}

export interface FlushOptions {
  /** Flush even when the thresholds are not reached. */
  force?: boolean;
  /** Say what would happen without changing anything. */
  dryRun?: boolean;
  /** Use this strategy instead of the resource's. */
  strategy?: MemoryFlushStrategy;
  /** Flush when a limit × this (0..1] is reached, instead of the resource's summarize_threshold. */
  threshold?: number;
}

export interface ClearOptions {
  /** Must be true: clearing is destructive (reference: clear_config.confirm). */
  confirm: boolean;
  /** Keep a copy of the messages under the instance's backup key for 24 h. */
  backup?: boolean;
}

export interface HistoryOptions {
  /** Token budget for the history; default: the resource's limit (see MemoryStatsResult.token_limit). */
  maxTokens?: number;
  /** The model's context window, for resources with max_context_ratio (default 128,000). */
  contextWindow?: number;
}

/**
 * Folds old messages into one summary for hybrid_summary flushing: rule-based by default (as Compozy's
 * engine), the project's model when flushing.summary_model names one (createMemoryManager's
 * modelSummarizer); createMemoryManager({summarizer}) takes another in code. A summarizer that throws
 * fails the flush (MEMORY_FLUSH_FAILED) and the conversation stays as it was.
 */
export interface Summarizer {
  summarize(messages: readonly MemoryMessage[], options: { maxTokens: number }): Promise<string>;
}

/** Things a memory noticed and worked around, for the server log. */
export type MemoryWarning =
  | { kind: 'corrupt_message'; ref: string; key: string; index: number; reason: string }
  | { kind: 'flush_failed'; ref: string; key: string; error: Error };
