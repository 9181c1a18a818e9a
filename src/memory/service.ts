import type { MemoryResource } from '../config/types.js';
import type { Kv } from '../kv/kv.js';
import { MemoryManagerImpl } from './manager.js';
import type {
  ClearOptions,
  FlushOptions,
  HistoryOptions,
  MemoryAppendResult,
  MemoryClearResult,
  MemoryDeleteResult,
  MemoryFlushResult,
  MemoryHealthResult,
  MemoryMessage,
  MemoryMetadata,
  MemoryReadPageResult,
  MemoryReadResult,
  MemoryStatsResult,
  MemoryWarning,
  MemoryWriteResult,
  Summarizer,
} from './types.js';

export type * from './types.js';
export { parseMemoryPayload } from './limits.js';
export { memoryKeyTemplate } from './keys.js';
export { executeMemoryOperation, isKeyPattern, type MemoryOperationRequest } from './operations.js';

/**
 * One conversation: a memory resource and a rendered key. Every operation validates its input before it
 * writes anything and throws a CompozyError: INPUT_INVALID (bad role, sizes, counts; details.field names
 * the field), MEMORY_UNAVAILABLE (the KV is down; the message names the backend).
 */
export interface MemoryInstance {
  /** The memory resource id. */
  readonly ref: string;
  /** The rendered key, as the caller gave it. */
  readonly key: string;
  /** The KV key of the message list, derived from the project, the resource and the key. */
  readonly instanceKey: string;
  readonly resource: MemoryResource;

  read(): Promise<MemoryReadResult>;
  /** limit 1..1000; an offset at or past the end gives no messages. */
  readPaginated(offset: number, limit: number): Promise<MemoryReadPageResult>;
  /** The newest messages that fit the token budget, oldest first: what an agent sends as prior turns. */
  history(options?: HistoryOptions): Promise<MemoryMessage[]>;
  /** Replaces every message atomically. */
  write(messages: readonly MemoryMessage[]): Promise<MemoryWriteResult>;
  /** Appends atomically (with counters and, for message_count_based, the trim), then schedules a flush check. */
  append(messages: readonly MemoryMessage[]): Promise<MemoryAppendResult>;
  delete(): Promise<MemoryDeleteResult>;
  flush(options?: FlushOptions): Promise<MemoryFlushResult>;
  health(options?: { includeStats?: boolean }): Promise<MemoryHealthResult>;
  /** Throws INPUT_INVALID unless options.confirm is true. */
  clear(options: ClearOptions): Promise<MemoryClearResult>;
  stats(): Promise<MemoryStatsResult>;
  count(): Promise<number>;
  metadata(): Promise<MemoryMetadata>;
}

/** The memory row of the health table. */
export interface MemorySubsystemHealth {
  /** The KV driver persistent memories use ("redis" resources live there too: in standalone that is SQLite). */
  driver: 'sqlite' | 'redis';
  resources: number;
  /** Conversations stored for this project. */
  keys: number;
}

export interface MemoryManager {
  readonly driver: 'sqlite' | 'redis';
  readonly resources: readonly MemoryResource[];
  /** Throws MEMORY_NOT_FOUND (with the known ids in details.known). */
  resource(ref: string): MemoryResource;
  /**
   * The conversation `key` of memory `ref`. The caller renders the key template (memoryKeyTemplate picks
   * it) with the workflow context. Throws MEMORY_NOT_FOUND, or INPUT_INVALID for a key that is empty,
   * longer than 255 characters or holds control characters.
   */
  instance(ref: string, key: string): MemoryInstance;
  /**
   * The keys of memory `ref` matching a Redis glob `pattern` (`user:*`), sorted, at most maxKeys
   * (default 1000): for stats and clear over many conversations.
   */
  keys(ref: string, pattern: string, options?: { maxKeys?: number }): Promise<string[]>;
  health(): Promise<MemorySubsystemHealth>;
  /** Runs the flushes still scheduled and stops scheduling new ones; the KV stays open (its owner closes it). */
  close(): Promise<void>;
}

export interface MemoryManagerOptions {
  kv: Kv;
  /** The project's name: part of every instance key, so two projects sharing one Redis never collide. */
  project: string;
  resources: readonly MemoryResource[];
  /** hybrid_summary's summarizer for the resources that name no summary_model (default: rule-based). */
  summarizer?: Summarizer;
  /**
   * The summarizer of a resource whose flushing names a summary_model (modelSummarizers of
   * src/memory/flush/model-summarizer.ts); required when one does.
   */
  modelSummarizer?: (resource: MemoryResource, summaryModel: string) => Summarizer;
  onWarning?: (warning: MemoryWarning) => void;
  /** The flush check after appends waits this long for more appends (default 100 ms), at most flushMaxWaitMs (1 s). */
  flushDebounceMs?: number;
  flushMaxWaitMs?: number;
}

/** Loads the tokenizers the resources name; throws CONFIG_INVALID for a token_provider it cannot honour, or a summary_model without options.modelSummarizer. */
export async function createMemoryManager(options: MemoryManagerOptions): Promise<MemoryManager> {
  return MemoryManagerImpl.create(options);
}
