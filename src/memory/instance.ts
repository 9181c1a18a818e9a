import type { MemoryFlushStrategy, MemoryResource } from '../config/types.js';
import { CompozyError, errorMessage } from '../errors.js';
import { DEFAULT_TOKEN_LIMIT, evictionPlan, shouldFlush, summaryHead, tokenLimit, type FlushPlan } from './flush/plan.js';
import type { InstanceKeys } from './keys.js';
import { MEMORY_LIMITS, validateMessages } from './limits.js';
import type { PrivacyFilter } from './privacy.js';
import type { MemoryInstance } from './service.js';
import { newStoredMessage, type MemoryStore, type StoredEntry, type StoredMessage, type StoredRead } from './store/memory-store.js';
import type { TokenCounter } from './tokens.js';
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
  MemoryRole,
  MemoryStatsResult,
  MemoryWarning,
  MemoryWriteResult,
  SkippedMessage,
  Summarizer,
} from './types.js';

/** What an instance shares with the others of its manager. */
export interface InstanceContext {
  store: MemoryStore;
  tokens: TokenCounter;
  privacy: PrivacyFilter;
  summarizer: Summarizer;
  /** Called after every append that stored something: the manager debounces the flush check. */
  scheduleFlush(instance: MemoryInstanceImpl): void;
  /** Runs a KV-touching operation through the resource's circuit breaker. */
  guard<T>(fn: () => Promise<T>): Promise<T>;
  warn(warning: MemoryWarning): void;
  now(): number;
}

const FLUSH_ATTEMPTS = 3;
/** summary_tokens is required for hybrid_summary by the config; this covers a flush asking for that strategy explicitly. */
const DEFAULT_SUMMARY_TOKENS = 500;

function plain(entries: readonly StoredEntry[]): MemoryMessage[] {
  return entries.map((e) => ({ role: e.message.role, content: e.message.content }));
}

function invalid(field: string, message: string): CompozyError {
  return new CompozyError('INPUT_INVALID', message, { details: { field } });
}

export class MemoryInstanceImpl implements MemoryInstance {
  constructor(
    readonly resource: MemoryResource,
    readonly key: string,
    readonly keys: InstanceKeys,
    private readonly ctx: InstanceContext,
  ) {}

  get ref(): string {
    return this.resource.id;
  }

  get instanceKey(): string {
    return this.keys.list;
  }

  private get strategy(): MemoryFlushStrategy {
    return this.resource.flushing.type;
  }

  /** message_count_based and buffer memories never hold more than max_messages: the append trims. */
  private get maxLen(): number | undefined {
    return this.resource.type === 'token_based' ? undefined : this.resource.maxMessages;
  }

  private reported(read: StoredRead): SkippedMessage[] | undefined {
    for (const s of read.skipped) this.ctx.warn({ kind: 'corrupt_message', ref: this.ref, key: this.key, index: s.index, reason: s.reason });
    return read.skipped.length > 0 ? read.skipped : undefined;
  }

  /** Validated, privacy-filtered, counted messages ready to store. */
  private prepare(messages: readonly MemoryMessage[]): StoredMessage[] {
    validateMessages(messages);
    const now = this.ctx.now();
    return this.ctx.privacy.apply(messages).map((m) => newStoredMessage(m, this.ctx.tokens.count(m), now));
  }

  async read(): Promise<MemoryReadResult> {
    const read = await this.ctx.guard(() => this.ctx.store.read(this.keys));
    const skipped = this.reported(read);
    return { messages: plain(read.entries), count: read.entries.length, key: this.key, ...(skipped ? { skipped } : {}) };
  }

  async readPaginated(offset: number, limit: number): Promise<MemoryReadPageResult> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalid('offset', `offset must be a whole number ≥ 0, not ${offset}.`);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MEMORY_LIMITS.pageLimit) throw invalid('limit', `limit must be a whole number from 1 to ${MEMORY_LIMITS.pageLimit}, not ${limit}.`);
    const page = await this.ctx.guard(() => this.ctx.store.readPage(this.keys, offset, limit));
    const skipped = this.reported(page);
    const messages = plain(page.entries);
    return {
      messages, count: messages.length, total_count: page.total, offset, limit, has_more: offset + limit < page.total, key: this.key,
      ...(skipped ? { skipped } : {}),
    };
  }

  async history(options: HistoryOptions = {}): Promise<MemoryMessage[]> {
    const read = await this.ctx.guard(() => this.ctx.store.read(this.keys));
    this.reported(read);
    const window = options.contextWindow;
    const ratioBudget = this.resource.maxContextRatio !== undefined && window !== undefined ? Math.floor(this.resource.maxContextRatio * window) : undefined;
    const budget = options.maxTokens ?? ratioBudget ?? tokenLimit(this.resource) ?? Number.POSITIVE_INFINITY;
    const allocation = this.resource.tokenAllocation;
    // token_allocation splits the budget: summaries are long-term memory, system messages the system
    // share, the conversation itself short-term.
    const share = (m: StoredMessage) => (!allocation ? 1 : m.summary ? allocation.longTerm : m.role === 'system' ? allocation.system : allocation.shortTerm);
    const bucket = (m: StoredMessage) => (!allocation ? 'all' : m.summary ? 'long' : m.role === 'system' ? 'system' : 'short');
    const used = new Map<string, number>();
    const kept: StoredMessage[] = [];
    for (let i = read.entries.length - 1; i >= 0; i--) {
      const m = (read.entries[i] as StoredEntry).message;
      const b = bucket(m);
      const next = (used.get(b) ?? 0) + m.tokens;
      if (next > budget * share(m)) {
        if (!allocation) break;
        continue;
      }
      used.set(b, next);
      kept.push(m);
    }
    return kept.reverse().map((m) => ({ role: m.role, content: m.content }));
  }

  async write(messages: readonly MemoryMessage[]): Promise<MemoryWriteResult> {
    let stored = this.prepare(messages);
    if (this.maxLen !== undefined && stored.length > this.maxLen) stored = stored.slice(-this.maxLen);
    const count = await this.ctx.guard(() => this.ctx.store.replace(this.keys, stored, { key: this.key, ...this.ttl() }));
    if (stored.length > 0) this.ctx.scheduleFlush(this);
    return { success: true, count, key: this.key };
  }

  private ttl(): { ttlMs?: number } {
    return this.resource.persistence.ttlMs !== undefined ? { ttlMs: this.resource.persistence.ttlMs } : {};
  }

  async append(messages: readonly MemoryMessage[]): Promise<MemoryAppendResult> {
    const stored = this.prepare(messages);
    if (stored.length === 0) {
      const total = await this.ctx.guard(() => this.ctx.store.count(this.keys));
      return { success: true, appended: 0, total_count: total, key: this.key };
    }
    const maxLen = this.maxLen;
    const total = await this.ctx.guard(() => this.ctx.store.append(this.keys, stored, { key: this.key, ...(maxLen !== undefined ? { maxLen } : {}), ...this.ttl() }));
    this.ctx.scheduleFlush(this);
    return { success: true, appended: stored.length, total_count: total, key: this.key };
  }

  async delete(): Promise<MemoryDeleteResult> {
    await this.ctx.guard(() => this.ctx.store.delete(this.keys));
    return { success: true, key: this.key };
  }

  private async plan(strategy: MemoryFlushStrategy, entries: readonly StoredEntry[]): Promise<FlushPlan> {
    if (strategy !== 'hybrid_summary') return evictionPlan(strategy, this.resource, entries);
    const head = summaryHead(this.resource, entries);
    if (head.length === 0) return { head: [], replacement: [], summaryGenerated: false };
    const maxTokens = this.resource.flushing.summaryTokens ?? DEFAULT_SUMMARY_TOKENS;
    let content: string;
    try {
      content = await this.ctx.summarizer.summarize(plain(head), { maxTokens });
    } catch (error) {
      // Nothing is written before the summary exists: the conversation stays whole, and the next flush tries again.
      const cause = error instanceof CompozyError ? error : undefined;
      throw new CompozyError('MEMORY_FLUSH_FAILED', `Memory "${this.ref}" key "${this.key}": the summary of the oldest ${head.length} messages failed, so nothing was flushed: ${errorMessage(error)}`, {
        hint: cause?.hint ?? 'The conversation is unchanged; the next flush check (after an append) or a flush task tries again.',
        details: { ...cause?.details, memory_ref: this.ref, key: this.key, strategy: 'hybrid_summary', ...(cause ? { cause_code: cause.code } : {}) },
        cause: error,
      });
    }
    const summary: MemoryMessage = { role: 'system', content };
    return { head, replacement: [{ ...newStoredMessage(summary, this.ctx.tokens.count(summary), this.ctx.now()), summary: true }], summaryGenerated: true };
  }

  async flush(options: FlushOptions = {}): Promise<MemoryFlushResult> {
    const strategy = options.strategy ?? this.strategy;
    if (options.threshold !== undefined && !(options.threshold > 0 && options.threshold <= 1)) throw invalid('threshold', `threshold must be greater than 0 and at most 1, not ${options.threshold}.`);
    const base = { key: this.key, dry_run: options.dryRun === true, actual_strategy: strategy };
    const meta = await this.ctx.guard(() => this.ctx.store.metadata(this.keys));
    const needed = options.force === true || shouldFlush(this.resource, meta.tokenCount, meta.messageCount, options.threshold);
    const now = { message_count: meta.messageCount, token_count: meta.tokenCount };
    if (options.dryRun || !needed) return { success: true, summary_generated: false, would_flush: needed, ...now, ...base };
    if (!(await this.ctx.guard(() => this.ctx.store.markFlushPending(this.keys)))) {
      return { success: false, summary_generated: false, would_flush: true, ...now, ...base, error: 'Another flush of this key is pending.' };
    }
    try {
      const lock = await this.ctx.guard(() => this.ctx.store.lock(this.keys.flushLock, this.resource.locking.flushTtlMs));
      if (!lock) return { success: false, summary_generated: false, would_flush: true, ...now, ...base, error: 'Another process holds the flush lock of this key.' };
      try {
        for (let attempt = 0; attempt < FLUSH_ATTEMPTS; attempt++) {
          const read = await this.ctx.guard(() => this.ctx.store.read(this.keys));
          this.reported(read);
          const plan = await this.plan(strategy, read.entries);
          const length =
            plan.head.length === 0 ? read.entries.length : await this.ctx.guard(() => this.ctx.store.spliceHead(this.keys, read, plan.head, plan.replacement, { lastFlush: new Date(this.ctx.now()).toISOString() }));
          if (length === null) continue;
          const after = await this.ctx.guard(() => this.ctx.store.metadata(this.keys));
          return { success: true, summary_generated: plan.summaryGenerated, would_flush: true, message_count: after.messageCount, token_count: after.tokenCount, ...base };
        }
        return { success: false, summary_generated: false, would_flush: true, ...now, ...base, error: `The conversation changed at its head during ${FLUSH_ATTEMPTS} flush attempts; nothing was flushed.` };
      } finally {
        await releaseQuietly(lock);
      }
    } finally {
      await this.ctx.guard(() => this.ctx.store.clearFlushPending(this.keys));
    }
  }

  async health(options: { includeStats?: boolean } = {}): Promise<MemoryHealthResult> {
    const meta = await this.ctx.guard(() => this.ctx.store.metadata(this.keys));
    return {
      healthy: true,
      key: this.key,
      token_count: meta.tokenCount,
      message_count: meta.messageCount,
      actual_strategy: this.strategy,
      current_tokens: meta.tokenCount,
      ...(meta.lastFlush ? { last_flush: meta.lastFlush } : {}),
      ...(options.includeStats ? { stats: await this.stats() } : {}),
    };
  }

  async clear(options: ClearOptions): Promise<MemoryClearResult> {
    if (options.confirm !== true) throw invalid('confirm', `Clearing memory "${this.ref}" key "${this.key}" needs confirm: true.`);
    const lock = await this.ctx.guard(() => this.ctx.store.waitLock(this.keys.clearLock, this.resource.locking.clearTtlMs, this.resource.locking.clearTtlMs));
    try {
      const read = await this.ctx.guard(() => this.ctx.store.read(this.keys));
      if (options.backup && read.entries.length > 0) await this.ctx.guard(() => this.ctx.store.backup(this.keys, read, this.key));
      await this.ctx.guard(() => this.ctx.store.delete(this.keys));
      return { success: true, key: this.key, messages_cleared: read.entries.length + read.skipped.length, backup_created: options.backup === true && read.entries.length > 0 };
    } finally {
      await releaseQuietly(lock);
    }
  }

  async stats(): Promise<MemoryStatsResult> {
    const [meta, read] = await this.ctx.guard(() => Promise.all([this.ctx.store.metadata(this.keys), this.ctx.store.read(this.keys)]));
    this.reported(read);
    const roles: Partial<Record<MemoryRole, number>> = {};
    for (const e of read.entries) roles[e.message.role] = (roles[e.message.role] ?? 0) + 1;
    const limit = tokenLimit(this.resource) ?? DEFAULT_TOKEN_LIMIT;
    return {
      key: this.key,
      message_count: meta.messageCount,
      token_count: meta.tokenCount,
      actual_strategy: this.strategy,
      last_flush: meta.lastFlush,
      avg_tokens_per_message: meta.messageCount > 0 ? Math.round((meta.tokenCount / meta.messageCount) * 100) / 100 : 0,
      token_limit: limit,
      token_utilization: Math.round((meta.tokenCount / limit) * 10_000) / 10_000,
      role_distribution: roles,
    };
  }

  async count(): Promise<number> {
    return this.ctx.guard(() => this.ctx.store.count(this.keys));
  }

  async metadata(): Promise<MemoryMetadata> {
    const meta = await this.ctx.guard(() => this.ctx.store.metadata(this.keys));
    return { token_count: meta.tokenCount, message_count: meta.messageCount, last_flush: meta.lastFlush, ttl_ms: meta.ttlMs, flush_pending: meta.flushPending };
  }
}

/** A lease that already expired has nothing left to release; the flush's own CAS kept the data safe. */
async function releaseQuietly(lock: { release(): Promise<void> }): Promise<void> {
  try {
    await lock.release();
  } catch (error) {
    if (!(error instanceof CompozyError && error.code === 'LOCK_NOT_HELD')) throw error;
  }
}
