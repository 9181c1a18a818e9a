import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ChangeWatcher } from './change-watcher.js';
import { globMatch } from '../glob.js';
import type { Message, SubscribeOptions, Subscription } from '../kv.js';
import { BufferedSubscription, DEFAULT_SUBSCRIPTION_BUFFER } from '../subscription.js';

/** A subscriber row whose process stopped heart-beating for this long is considered gone. */
export const SUBSCRIBER_STALE_MS = 5000;
const HEARTBEAT_MS = 1000;
const DRAIN_BATCH = 1000;

interface LocalSubscription {
  id: string;
  kind: 'channel' | 'pattern';
  targets: readonly string[];
  /** Only messages after this id reach it (Redis delivers to current subscribers only). */
  fromId: number;
  sink: BufferedSubscription;
}

export interface SubscriberRow {
  kind: 'channel' | 'pattern';
  target: string;
}

function matches(kind: 'channel' | 'pattern', target: string, channel: string): boolean {
  return kind === 'channel' ? target === channel : globMatch(target, channel);
}

/**
 * Cross-process pub/sub over the KV file: publishers append to kv_messages; each process with
 * subscribers drains new rows in id order whenever the change watcher sees a commit. Subscribers
 * register in kv_subscribers with a heartbeat, so PUBLISH can count receivers in every process and
 * pruning never removes a row a live subscriber has not read.
 */
export class SqlitePubSub {
  private readonly subscriptions = new Map<string, LocalSubscription>();
  private stopWatching: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private cursor = 0;
  private readonly statements: {
    insert: StatementSync;
    subscribers: StatementSync;
    maxId: StatementSync;
    register: StatementSync;
    unregister: StatementSync;
    heartbeat: StatementSync;
    drain: StatementSync;
  };

  constructor(
    private readonly db: DatabaseSync,
    private readonly watcher: ChangeWatcher,
  ) {
    this.statements = {
      insert: db.prepare('INSERT INTO kv_messages (channel, payload, created_at) VALUES (?, ?, ?)'),
      subscribers: db.prepare('SELECT kind, target FROM kv_subscribers WHERE heartbeat_at >= ?'),
      maxId: db.prepare('SELECT coalesce(max(id), 0) AS id FROM kv_messages'),
      register: db.prepare('INSERT INTO kv_subscribers (id, pid, kind, target, last_id, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)'),
      unregister: db.prepare('DELETE FROM kv_subscribers WHERE id >= ? AND id < ?'),
      heartbeat: db.prepare('UPDATE kv_subscribers SET heartbeat_at = ?, last_id = ? WHERE id >= ? AND id < ?'),
      drain: db.prepare('SELECT id, channel, payload FROM kv_messages WHERE id > ? ORDER BY id LIMIT ?'),
    };
  }

  /**
   * Inside the caller's write transaction: appends the message and answers how many live subscribers,
   * in every process, it reaches. The caller wakes this process's subscribers once it has committed.
   */
  publish(channel: string, payload: string, subscribers = this.liveSubscribers()): number {
    this.statements.insert.run(channel, payload, Date.now());
    return subscribers.filter((row) => matches(row.kind, row.target, channel)).length;
  }

  /** The live subscriptions of every process; within one write transaction no other process can change them. */
  liveSubscribers(): SubscriberRow[] {
    return this.statements.subscribers.all(Date.now() - SUBSCRIBER_STALE_MS) as unknown as SubscriberRow[];
  }

  subscribe(kind: 'channel' | 'pattern', targets: readonly string[], options: SubscribeOptions, inTransaction: <T>(fn: () => T) => T): Subscription {
    const id = randomUUID();
    const sink = new BufferedSubscription(options.bufferSize ?? DEFAULT_SUBSCRIPTION_BUFFER, async () => this.unsubscribe(id));
    inTransaction(() => {
      const fromId = Number((this.statements.maxId.get() as { id: number | bigint }).id);
      const now = Date.now();
      targets.forEach((target, index) => this.statements.register.run(`${id}#${String(index).padStart(6, '0')}`, process.pid, kind, target, fromId, now));
      if (this.subscriptions.size === 0) this.cursor = fromId;
      this.subscriptions.set(id, { id, kind, targets, fromId, sink });
    });
    this.start();
    return sink;
  }

  close(): void {
    for (const id of [...this.subscriptions.keys()]) this.unsubscribe(id);
    this.stop();
  }

  /** Subscriptions of this process that lost messages, and how many. */
  overflowTotal(): number {
    let total = 0;
    for (const sub of this.subscriptions.values()) total += sub.sink.overflow;
    return total;
  }

  private unsubscribe(id: string): void {
    if (!this.subscriptions.delete(id)) return;
    try {
      if (this.db.isOpen) this.statements.unregister.run(`${id}#`, `${id}$`);
    } catch {
      // The file is locked or full: the row stops heart-beating and is pruned as stale (SUBSCRIBER_STALE_MS).
    }
    if (this.subscriptions.size === 0) this.stop();
  }

  private start(): void {
    if (this.stopWatching) return;
    this.stopWatching = this.watcher.add(() => this.drain());
    this.heartbeatTimer = setInterval(() => {
      try {
        this.heartbeat();
      } catch {
        // Locked or full for now: the next beat tries again, well before SUBSCRIBER_STALE_MS.
      }
    }, HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  private stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private heartbeat(): void {
    if (!this.db.isOpen) return;
    const now = Date.now();
    for (const id of this.subscriptions.keys()) this.statements.heartbeat.run(now, this.cursor, `${id}#`, `${id}$`);
  }

  private drain(): void {
    if (!this.db.isOpen || this.subscriptions.size === 0) return;
    for (;;) {
      const rows = this.statements.drain.all(this.cursor, DRAIN_BATCH) as Array<{ id: number; channel: string; payload: string }>;
      for (const row of rows) {
        if (row.id > this.cursor + 1) this.reportGap(row.id - this.cursor - 1, this.cursor);
        this.cursor = row.id;
        this.deliver(row.id, row.channel, row.payload);
      }
      if (rows.length < DRAIN_BATCH) return;
    }
  }

  /** Rows pruned before this process read them: every subscription that was waiting for them lost them. */
  private reportGap(count: number, after: number): void {
    for (const sub of this.subscriptions.values()) if (sub.fromId <= after) sub.sink.countLost(count);
  }

  private deliver(id: number, channel: string, payload: string): void {
    for (const sub of this.subscriptions.values()) {
      if (id <= sub.fromId) continue;
      for (const target of sub.targets) {
        if (!matches(sub.kind, target, channel)) continue;
        // Parsed per receiver: one subscriber mutating its message must not change another's.
        const data: unknown = JSON.parse(payload);
        const message: Message = sub.kind === 'pattern' ? { channel, pattern: target, data } : { channel, data };
        sub.sink.push(message);
      }
    }
  }
}
