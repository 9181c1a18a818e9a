import { randomUUID } from 'node:crypto';
import { CompozyError } from '../../errors.js';
import type { Kv } from '../../kv/kv.js';
import type { InstanceKeys } from '../keys.js';
import { MEMORY_ROLES, type MemoryMessage, type MemoryRole, type SkippedMessage } from '../types.js';

/**
 * A message as the store keeps it, one JSON list item each: the caller's role and content plus a unique
 * id (so a flush can tell whether the head it read is still there), its token count (so trims keep the
 * counter exact) and when it was appended.
 */
export interface StoredMessage extends MemoryMessage {
  id: string;
  tokens: number;
  /** Epoch milliseconds. */
  at: number;
  /** Set on the message hybrid_summary folds older ones into. */
  summary?: true;
}

/** One decoded list item, the exact string it was stored as and its position in the list when read. */
export interface StoredEntry {
  message: StoredMessage;
  raw: string;
  index: number;
}

export interface StoredRead {
  entries: StoredEntry[];
  skipped: SkippedMessage[];
}

/** A whole list as read: its messages and its first item as stored (decodable or not), for spliceHead. */
export interface StoredList extends StoredRead {
  first: string | undefined;
}

export interface StoreMetadata {
  tokenCount: number;
  messageCount: number;
  lastFlush: string | null;
  ttlMs: number;
  flushPending: boolean;
}

/** The stored field that carries a message's token count (the KV's tokensField). */
export const TOKENS_FIELD = 'tokens';
/** A flush that died keeps its pending flag only this long (reference: 30 min). */
export const FLUSH_PENDING_TTL_MS = 30 * 60_000;

const ROLES: ReadonlySet<string> = new Set(MEMORY_ROLES);

// Message ids: a random tag per process and a counter. Unique across processes without drawing random
// bytes per message (randomBytes cost ~10 µs an append, more than the rest of the memory layer).
const PROCESS_TAG = randomUUID().slice(0, 8);
let sequence = 0;

export function newStoredMessage(message: MemoryMessage, tokens: number, at: number): StoredMessage {
  return { id: `${PROCESS_TAG}.${(sequence++).toString(36)}`, role: message.role, content: message.content, tokens, at };
}

function decode(raw: string): StoredMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a message object';
  const { id, role, content, tokens, at, summary } = value as Record<string, unknown>;
  if (typeof role !== 'string' || !ROLES.has(role)) return 'no valid role';
  if (typeof content !== 'string') return 'no content';
  return {
    id: typeof id === 'string' ? id : '',
    role: role as MemoryRole,
    content,
    tokens: typeof tokens === 'number' && Number.isFinite(tokens) ? tokens : 0,
    at: typeof at === 'number' ? at : 0,
    ...(summary === true ? { summary: true as const } : {}),
  };
}

/** Decodes list items; an item that is not a stored message is reported with its position, never fatal. */
export function decodeEntries(raws: readonly string[], firstIndex: number): StoredRead {
  const entries: StoredEntry[] = [];
  const skipped: SkippedMessage[] = [];
  raws.forEach((raw, i) => {
    const decoded = decode(raw);
    if (typeof decoded === 'string') skipped.push({ index: firstIndex + i, reason: decoded });
    else entries.push({ message: decoded, raw, index: firstIndex + i });
  });
  return { entries, skipped };
}

function count(value: string | undefined): number {
  const n = value === undefined ? 0 : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Conversation storage on the KV contract (reference §5.3/§5.4): a list of JSON messages and a meta hash
 * with token_count, message_count, the rendered key and last_flush. Every write is one atomic KV
 * operation, so two processes appending to one conversation lose nothing. KV outages surface as
 * MEMORY_UNAVAILABLE naming the backend.
 */
export class MemoryStore {
  constructor(private readonly kv: Kv) {}

  get driver(): 'sqlite' | 'redis' {
    return this.kv.driver;
  }

  /** Runs a KV call, turning "the store is not there" into MEMORY_UNAVAILABLE; other errors pass through. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CompozyError && !['KV_UNAVAILABLE', 'KV_CLOSED', 'DISK_FULL'].includes(error.code)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new CompozyError('MEMORY_UNAVAILABLE', `Memory ${operation} failed: the ${this.kv.driver === 'redis' ? 'Redis' : 'SQLite'} KV is unavailable (${reason})`, {
        hint: this.kv.driver === 'redis' ? 'Check that Redis is running and REDIS_URL is right.' : 'Check the .compozy/kv.db file: disk space, permissions, another process holding it.',
        details: { backend: this.kv.driver },
        cause: error,
      });
    }
  }

  /** Atomic append with the counters; maxLen trims to the newest (message_count_based). Returns the length. */
  async append(keys: InstanceKeys, messages: readonly StoredMessage[], options: { maxLen?: number; ttlMs?: number; key: string }): Promise<number> {
    const tokens = messages.reduce((sum, m) => sum + m.tokens, 0);
    return this.call('append', () =>
      this.kv.appendAndTrim(keys.list, keys.meta, messages.map((m) => JSON.stringify(m)), {
        maxLen: options.maxLen ?? Number.MAX_SAFE_INTEGER,
        tokenDelta: tokens,
        tokensField: TOKENS_FIELD,
        fields: { key: options.key },
        ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs, ttlRefreshBelowMs: Math.ceil(options.ttlMs / 2) } : {}),
      }),
    );
  }

  async read(keys: InstanceKeys): Promise<StoredList> {
    const raws = await this.call('read', () => this.kv.lrange(keys.list, 0, -1));
    return { ...decodeEntries(raws, 0), first: raws[0] };
  }

  /** Items offset..offset+limit−1 and the list's length at the time. */
  async readPage(keys: InstanceKeys, offset: number, limit: number): Promise<StoredRead & { total: number }> {
    const total = await this.count(keys);
    if (offset >= total || limit <= 0) return { entries: [], skipped: [], total };
    const raws = await this.call('read', () => this.kv.lrange(keys.list, offset, offset + limit - 1));
    return { ...decodeEntries(raws, offset), total };
  }

  async count(keys: InstanceKeys): Promise<number> {
    return this.call('count', () => this.kv.llen(keys.list));
  }

  /** Atomically replaces every message (counters from the new ones); the TTL is set when given. */
  async replace(keys: InstanceKeys, messages: readonly StoredMessage[], options: { ttlMs?: number; key: string; lastFlush?: string }): Promise<number> {
    const tokenCount = messages.reduce((sum, m) => sum + m.tokens, 0);
    return this.call('write', () =>
      this.kv.replaceList(keys.list, keys.meta, messages.map((m) => JSON.stringify(m)), {
        tokenCount,
        fields: { key: options.key, ...(options.lastFlush ? { last_flush: options.lastFlush } : {}) },
        ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
      }),
    );
  }

  /**
   * Replaces the list's items up to the last of `head` (entries of `list`; undecodable items among them
   * go too) by `replacement`, unless the list changed at the head since it was read (then null: the
   * caller's view is stale and nothing is written).
   */
  async spliceHead(keys: InstanceKeys, list: StoredList, head: readonly StoredEntry[], replacement: readonly StoredMessage[], options: { lastFlush: string }): Promise<number | null> {
    const last = head.at(-1);
    if (!last || list.first === undefined) return this.count(keys);
    const first = list.first;
    const removed = head.reduce((sum, e) => sum + e.message.tokens, 0);
    const added = replacement.reduce((sum, m) => sum + m.tokens, 0);
    return this.call('flush', () =>
      this.kv.spliceHead(keys.list, keys.meta, {
        expectFirst: first,
        removeCount: last.index + 1,
        items: replacement.map((m) => JSON.stringify(m)),
        tokenDelta: added - removed,
        fields: { last_flush: options.lastFlush },
      }),
    );
  }

  /** Keeps the newest `keep` messages, with exact counters. */
  async trim(keys: InstanceKeys, keep: number): Promise<number> {
    if (keep <= 0) {
      await this.delete(keys);
      return 0;
    }
    return this.call('trim', () => this.kv.appendAndTrim(keys.list, keys.meta, [], { maxLen: keep, tokenDelta: 0, tokensField: TOKENS_FIELD }));
  }

  async delete(keys: InstanceKeys): Promise<void> {
    await this.call('delete', () => this.kv.del(keys.list, keys.meta));
  }

  async metadata(keys: InstanceKeys): Promise<StoreMetadata> {
    const [meta, ttlMs, pending] = await this.call('metadata', () => Promise.all([this.kv.hgetall(keys.meta), this.kv.pttl(keys.list), this.kv.exists(keys.flushPending)]));
    return {
      tokenCount: count(meta.token_count),
      messageCount: count(meta.message_count),
      lastFlush: meta.last_flush ?? null,
      ttlMs,
      flushPending: pending > 0,
    };
  }

  /** Sets the flush-pending flag unless it is set; false when another flush has it (reference: ErrFlushAlreadyPending). */
  async markFlushPending(keys: InstanceKeys): Promise<boolean> {
    return this.call('flush', () => this.kv.set(keys.flushPending, '1', { nx: true, px: FLUSH_PENDING_TTL_MS }));
  }

  async clearFlushPending(keys: InstanceKeys): Promise<void> {
    await this.call('flush', () => this.kv.del(keys.flushPending));
  }

  /** Copies the messages under the backup keys (kept 24 h) before a clear. */
  async backup(keys: InstanceKeys, read: StoredRead, key: string): Promise<void> {
    await this.call('clear', () =>
      this.kv.replaceList(keys.backup, keys.backupMeta, read.entries.map((e) => e.raw), {
        tokenCount: read.entries.reduce((sum, e) => sum + e.message.tokens, 0),
        ttlMs: 24 * 3_600_000,
        fields: { key },
      }),
    );
  }

  /** Keys of every conversation under a resource prefix: their meta hashes hold the rendered key. */
  async *metaKeys(prefix: string): AsyncIterable<string> {
    const iterator = this.kv.scan(`${prefix}*:meta`)[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.call('scan', () => iterator.next());
      if (next.done) return;
      if (!next.value.endsWith(':backup:meta')) yield next.value;
    }
  }

  async renderedKey(metaKey: string): Promise<string | null> {
    return this.call('scan', () => this.kv.hget(metaKey, 'key'));
  }

  async lock(resource: string, ttlMs: number): Promise<{ release(): Promise<void> } | null> {
    return this.call('lock', () => this.kv.tryAcquire(resource, ttlMs));
  }

  async waitLock(resource: string, ttlMs: number, waitMs: number): Promise<{ release(): Promise<void> }> {
    return this.call('lock', () => this.kv.acquire(resource, ttlMs, { waitMs }));
  }
}
