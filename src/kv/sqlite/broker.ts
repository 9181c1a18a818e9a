import { randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  checkExchangeType,
  ConsumerSet,
  leaseLost,
  notFound,
  resolveQueueOptions,
} from '../broker-support.js';
import type { Broker, ConsumeOptions, Consumer, Delivery, ExchangeType, QueueOptions, QueueStats } from '../kv.js';
import { routes } from '../topic.js';
import { checkKey, encodeMessage, encodeScalar, invalid } from '../validate.js';
import type { ChangeWatcher } from './change-watcher.js';

interface QueueRow {
  name: string;
  max_attempts: number;
  dead_letter: string | null;
  visibility_ms: number;
}

interface MessageRow {
  id: number;
  routing_key: string;
  body: string;
  attempts: number;
}


/**
 * The broker on the KV file. Claiming is one transaction: the oldest visible message gets a lease
 * token and becomes invisible for the visibility timeout; ack deletes it, nack or a lapsed lease
 * makes it visible again, and a message out of attempts moves to the dead-letter queue.
 */
export class SqliteBroker implements Broker {
  private readonly s: Record<string, StatementSync>;
  private readonly consumers = new ConsumerSet();

  constructor(
    db: DatabaseSync,
    private readonly watcher: ChangeWatcher,
    /** One transaction through the KV's guard: waits for another process's lock without blocking, errors typed. */
    private readonly tx: <T>(fn: () => T) => T | Promise<T>,
    /** A read through the KV's guard: storage errors typed. */
    private readonly read: <T>(fn: () => T) => T | Promise<T>,
    private readonly maxValueBytes: number,
  ) {
    this.s = {
      exchange: db.prepare('SELECT type FROM kv_exchanges WHERE name = ?'),
      insertExchange: db.prepare('INSERT INTO kv_exchanges (name, type) VALUES (?, ?)'),
      queue: db.prepare('SELECT name, max_attempts, dead_letter, visibility_ms FROM kv_queues WHERE name = ?'),
      upsertQueue: db.prepare(
        'INSERT INTO kv_queues (name, max_attempts, dead_letter, visibility_ms) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET max_attempts = excluded.max_attempts, dead_letter = excluded.dead_letter, visibility_ms = excluded.visibility_ms',
      ),
      ensureQueue: db.prepare('INSERT OR IGNORE INTO kv_queues (name, max_attempts, dead_letter, visibility_ms) VALUES (?, ?, NULL, ?)'),
      purge: db.prepare('DELETE FROM kv_queue_messages WHERE queue = ?'),
      bind: db.prepare('INSERT OR IGNORE INTO kv_bindings (exchange, queue, binding_key) VALUES (?, ?, ?)'),
      bound: db.prepare('SELECT 1 AS found FROM kv_bindings WHERE exchange = ? AND queue = ? AND binding_key = ?'),
      bindings: db.prepare('SELECT queue, binding_key FROM kv_bindings WHERE exchange = ?'),
      enqueue: db.prepare('INSERT INTO kv_queue_messages (queue, routing_key, body, attempts, visible_at) VALUES (?, ?, ?, ?, 0)'),
      nextVisible: db.prepare('SELECT id, routing_key, body, attempts FROM kv_queue_messages WHERE queue = ? AND visible_at <= ? ORDER BY id LIMIT 1'),
      lease: db.prepare('UPDATE kv_queue_messages SET attempts = attempts + 1, lease = ?, visible_at = ? WHERE id = ?'),
      leased: db.prepare('SELECT id, routing_key, body, attempts FROM kv_queue_messages WHERE id = ? AND lease = ?'),
      remove: db.prepare('DELETE FROM kv_queue_messages WHERE id = ?'),
      ack: db.prepare('DELETE FROM kv_queue_messages WHERE id = ? AND lease = ?'),
      release: db.prepare('UPDATE kv_queue_messages SET lease = NULL, visible_at = 0 WHERE id = ?'),
      drop: db.prepare('UPDATE kv_queues SET dropped = dropped + 1 WHERE name = ?'),
      count: db.prepare('SELECT count(*) AS n FROM kv_queue_messages WHERE queue = ?'),
      dropped: db.prepare('SELECT dropped FROM kv_queues WHERE name = ?'),
    };
  }

  private queueRow(name: string): QueueRow {
    const row = this.s.queue?.get(name) as QueueRow | undefined;
    if (!row) throw notFound('queue', name);
    return row;
  }

  async declareExchange(name: string, type: ExchangeType): Promise<void> {
    checkKey(name, 'exchange');
    checkExchangeType(type);
    // Declarations repeated at every start-up are reads when nothing changes, so a server starts while another process holds the write lock.
    if ((await this.read(() => this.s.exchange?.get(name) as { type: string } | undefined))?.type === type) return;
    await this.tx(() => {
      const existing = this.s.exchange?.get(name) as { type: string } | undefined;
      if (existing && existing.type !== type) throw invalid(`exchange "${name}" is already declared as ${existing.type}, not ${type}.`);
      if (!existing) this.s.insertExchange?.run(name, type);
    });
  }

  async declareQueue(name: string, options: QueueOptions = {}): Promise<void> {
    const resolved = resolveQueueOptions(name, options);
    const { existing, deadLetterExists } = await this.read(() => ({
      existing: this.s.queue?.get(name) as QueueRow | undefined,
      deadLetterExists: !resolved.deadLetter || this.s.queue?.get(resolved.deadLetter) !== undefined,
    }));
    const unchanged =
      existing !== undefined && existing.max_attempts === resolved.maxAttempts && existing.dead_letter === (resolved.deadLetter ?? null) && existing.visibility_ms === resolved.visibilityMs;
    if (resolved.durable && unchanged && deadLetterExists) return;
    await this.tx(() => {
      if (resolved.deadLetter) this.s.ensureQueue?.run(resolved.deadLetter, resolved.maxAttempts, resolved.visibilityMs);
      this.s.upsertQueue?.run(name, resolved.maxAttempts, resolved.deadLetter ?? null, resolved.visibilityMs);
      if (!resolved.durable) this.s.purge?.run(name);
    });
  }

  async bind(queue: string, exchange: string, bindingKey = ''): Promise<void> {
    checkKey(bindingKey, 'binding key');
    checkKey(exchange, 'exchange');
    checkKey(queue, 'queue');
    if (await this.read(() => this.s.bound?.get(exchange, queue, bindingKey))) return;
    await this.tx(() => {
      if (!this.s.exchange?.get(exchange)) throw notFound('exchange', exchange);
      this.queueRow(queue);
      this.s.bind?.run(exchange, queue, bindingKey);
    });
  }

  async publish(exchange: string, routingKey: string, body: unknown): Promise<number> {
    checkKey(exchange, 'exchange');
    checkKey(routingKey, 'routing key');
    const payload = encodeScalar(encodeMessage(body), this.maxValueBytes, 'message');
    const count = await this.tx(() => {
      const row = this.s.exchange?.get(exchange) as { type: ExchangeType } | undefined;
      if (!row) throw notFound('exchange', exchange);
      const bindings = this.s.bindings?.all(exchange) as Array<{ queue: string; binding_key: string }>;
      const queues = new Set(bindings.filter((b) => routes(row.type, b.binding_key, routingKey)).map((b) => b.queue));
      for (const queue of queues) this.s.enqueue?.run(queue, routingKey, payload, 0);
      return queues.size;
    });
    if (count > 0) this.watcher.notifyLocal();
    return count;
  }

  /** Moves a message out of its queue for good: to the dead-letter queue, or dropped and counted. */
  private deadLetter(queue: QueueRow, message: MessageRow): void {
    this.s.remove?.run(message.id);
    if (queue.dead_letter) this.s.enqueue?.run(queue.dead_letter, message.routing_key, message.body, 0);
    else this.s.drop?.run(queue.name);
  }

  private async claim(queueName: string): Promise<Delivery | undefined> {
    const claimed = await this.tx(() => {
      const queue = this.queueRow(queueName);
      for (;;) {
        const now = Date.now();
        const message = this.s.nextVisible?.get(queueName, now) as MessageRow | undefined;
        if (!message) return undefined;
        if (message.attempts >= queue.max_attempts) {
          this.deadLetter(queue, message);
          continue;
        }
        const lease = randomUUID();
        this.s.lease?.run(lease, now + queue.visibility_ms, message.id);
        return { message, lease };
      }
    });
    if (!claimed) return undefined;
    const { message, lease } = claimed;
    const id = String(message.id);
    return {
      id,
      queue: queueName,
      routingKey: message.routing_key,
      body: JSON.parse(message.body) as unknown,
      attempt: message.attempts + 1,
      ack: async () => {
        const acked = await this.tx(() => Number(this.s.ack?.run(message.id, lease).changes) > 0);
        if (!acked) throw leaseLost(queueName, id);
      },
      nack: async (options = {}) => {
        const requeue = options.requeue ?? true;
        await this.tx(() => {
          const row = this.s.leased?.get(message.id, lease) as MessageRow | undefined;
          if (!row) throw leaseLost(queueName, id);
          const queue = this.queueRow(queueName);
          if (!requeue || row.attempts >= queue.max_attempts) this.deadLetter(queue, row);
          else this.s.release?.run(message.id);
        });
        this.watcher.notifyLocal();
      },
    };
  }

  async consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options: ConsumeOptions = {}): Promise<Consumer> {
    checkKey(queue, 'queue');
    await this.read(() => this.queueRow(queue));
    return this.consumers.start(queue, handler, options, () => this.claim(queue), async (wake) => this.watcher.add(wake));
  }

  /** Cancels every consumer, waiting for their handlers; the store closes after. */
  async close(): Promise<void> {
    await this.consumers.closeAll();
  }

  async stats(queue: string): Promise<QueueStats> {
    checkKey(queue, 'queue');
    return this.read(() => {
      this.queueRow(queue);
      const { n } = this.s.count?.get(queue) as { n: number };
      const { dropped } = this.s.dropped?.get(queue) as { dropped: number };
      return { messages: n, dropped };
    });
  }
}
