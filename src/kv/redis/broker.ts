import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  checkExchangeType,
  ConsumerSet,
  leaseLost,
  notFound,
  resolveQueueOptions,
  type ResolvedQueueOptions,
} from '../broker-support.js';
import type { Broker, ConsumeOptions, Consumer, Delivery, ExchangeType, QueueOptions, QueueStats } from '../kv.js';
import { routes } from '../topic.js';
import { checkKey, encodeMessage, encodeScalar, invalid } from '../validate.js';
import { BROKER_DEAD_LETTER, BROKER_PUBLISH, BROKER_REQUEUE, BROKER_SETTLE, type Script } from './scripts.js';

type Reply = string | number | null | Reply[];

export interface RedisBrokerDeps {
  prefix: string;
  maxValueBytes: number;
  run(args: string[], key?: string): Promise<Reply>;
  eval(script: Script, keys: string[], args: string[], key: string): Promise<Reply>;
  /** A connection of its own subscribed to a channel; returns how to close it. */
  listen(channel: string, onMessage: () => void): Promise<() => Promise<void>>;
}

const GROUP = 'compozy';

interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

function entry(raw: Reply): StreamEntry | undefined {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string' || !Array.isArray(raw[1])) return undefined;
  const flat = raw[1] as string[];
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return { id: raw[0], fields };
}

/**
 * The broker on Redis Streams: one stream per queue with one consumer group. A delivery's lease is
 * (consumer name, delivery count) in the group's pending list: XAUTOCLAIM hands an entry idle past
 * the visibility timeout to another consumer, after which the first one's ack is refused. A requeued
 * message is re-added at the tail with its attempts carried in a field.
 */
export class RedisBroker implements Broker {
  private readonly consumers = new ConsumerSet();

  constructor(private readonly deps: RedisBrokerDeps) {}

  private k(name: string): string {
    return `${this.deps.prefix}${name}`;
  }

  private stream(queue: string): string {
    return this.k(`bq:s:${queue}`);
  }

  private wakeChannel(queue: string): string {
    return this.k(`bq:w:${queue}`);
  }

  private droppedKey(queue: string): string {
    return this.k(`bq:dropped:${queue}`);
  }

  private async queueOptions(queue: string): Promise<ResolvedQueueOptions> {
    const raw = (await this.deps.run(['HGET', this.k('bq:meta'), checkKey(queue, 'queue')])) as string | null;
    if (raw === null) throw notFound('queue', queue);
    return JSON.parse(raw) as ResolvedQueueOptions;
  }

  private async ensureGroup(queue: string): Promise<void> {
    try {
      await this.deps.run(['XGROUP', 'CREATE', this.stream(queue), GROUP, '0', 'MKSTREAM']);
    } catch (error) {
      if (!/BUSYGROUP/.test(String((error as Error).cause ?? error))) throw error;
    }
  }

  async declareExchange(name: string, type: ExchangeType): Promise<void> {
    checkKey(name, 'exchange');
    checkExchangeType(type);
    const created = (await this.deps.run(['HSETNX', this.k('bx:exchanges'), name, type])) as number;
    if (created === 0) {
      const existing = (await this.deps.run(['HGET', this.k('bx:exchanges'), name])) as string;
      if (existing !== type) throw invalid(`exchange "${name}" is already declared as ${existing}, not ${type}.`);
    }
  }

  async declareQueue(name: string, options: QueueOptions = {}): Promise<void> {
    const resolved = resolveQueueOptions(name, options);
    if (resolved.deadLetter) {
      const defaults = { durable: true, maxAttempts: resolved.maxAttempts, deadLetter: undefined, visibilityMs: resolved.visibilityMs };
      await this.deps.run(['HSETNX', this.k('bq:meta'), resolved.deadLetter, JSON.stringify(defaults)]);
      await this.ensureGroup(resolved.deadLetter);
    }
    await this.deps.run(['HSET', this.k('bq:meta'), name, JSON.stringify(resolved)]);
    if (!resolved.durable) await this.deps.run(['DEL', this.stream(name)]);
    await this.ensureGroup(name);
  }

  async bind(queue: string, exchange: string, bindingKey = ''): Promise<void> {
    checkKey(bindingKey, 'binding key');
    if ((await this.deps.run(['HEXISTS', this.k('bx:exchanges'), checkKey(exchange, 'exchange')])) !== 1) throw notFound('exchange', exchange);
    await this.queueOptions(queue);
    await this.deps.run(['SADD', this.k(`bx:bindings:${exchange}`), JSON.stringify([queue, bindingKey])]);
  }

  async publish(exchange: string, routingKey: string, body: unknown): Promise<number> {
    checkKey(exchange, 'exchange');
    checkKey(routingKey, 'routing key');
    const payload = encodeScalar(encodeMessage(body), this.deps.maxValueBytes, 'message');
    const type = (await this.deps.run(['HGET', this.k('bx:exchanges'), exchange])) as ExchangeType | null;
    if (type === null) throw notFound('exchange', exchange);
    const bindings = ((await this.deps.run(['SMEMBERS', this.k(`bx:bindings:${exchange}`)])) as string[]).map((raw) => JSON.parse(raw) as [string, string]);
    const queues = [...new Set(bindings.filter(([, key]) => routes(type, key, routingKey)).map(([queue]) => queue))];
    if (queues.length === 0) return 0;
    await this.deps.eval(BROKER_PUBLISH, queues.flatMap((q) => [this.stream(q), this.wakeChannel(q)]), [routingKey, payload], exchange);
    return queues.length;
  }

  private deadLetterArgs(queue: string, options: ResolvedQueueOptions): { keys: string[]; args: string[] } {
    const target = options.deadLetter;
    return {
      keys: [this.stream(queue), target ? this.stream(target) : this.droppedKey(queue), target ? this.wakeChannel(target) : ''],
      args: [target ? 'queue' : 'drop'],
    };
  }

  private async pendingCount(queue: string, id: string): Promise<number> {
    const pending = (await this.deps.run(['XPENDING', this.stream(queue), GROUP, id, id, '1'])) as Reply[][];
    return Number(pending[0]?.[3] ?? 1);
  }

  private async claim(queue: string, consumer: string): Promise<Delivery | undefined> {
    const options = await this.queueOptions(queue);
    for (;;) {
      let raw: StreamEntry | undefined;
      let deliveries = 1;
      const reclaimed = (await this.deps.run(['XAUTOCLAIM', this.stream(queue), GROUP, consumer, String(options.visibilityMs), '0-0', 'COUNT', '1'])) as Reply[];
      raw = entry((reclaimed[1] as Reply[] | undefined)?.[0] ?? null);
      if (raw) deliveries = await this.pendingCount(queue, raw.id);
      else {
        const read = (await this.deps.run(['XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', '1', 'STREAMS', this.stream(queue), '>'])) as Reply[][] | null;
        raw = entry(((read?.[0]?.[1] as Reply[] | undefined) ?? [])[0] ?? null);
      }
      if (!raw) return undefined;
      const attempt = Number(raw.fields.a ?? '0') + deliveries;
      if (attempt > options.maxAttempts) {
        const dead = this.deadLetterArgs(queue, options);
        await this.deps.eval(BROKER_DEAD_LETTER, dead.keys, [GROUP, raw.id, consumer, String(deliveries), ...dead.args], queue);
        continue;
      }
      return this.delivery(queue, consumer, raw, deliveries, attempt, options);
    }
  }

  private delivery(queue: string, consumer: string, raw: StreamEntry, deliveries: number, attempt: number, options: ResolvedQueueOptions): Delivery {
    const lease = [GROUP, raw.id, consumer, String(deliveries)];
    return {
      id: raw.id,
      queue,
      routingKey: raw.fields.rk ?? '',
      body: JSON.parse(raw.fields.body ?? 'null') as unknown,
      attempt,
      ack: async () => {
        if ((await this.deps.eval(BROKER_SETTLE, [this.stream(queue)], lease, queue)) !== 1) throw leaseLost(queue, raw.id);
      },
      nack: async (nackOptions = {}) => {
        const requeue = (nackOptions.requeue ?? true) && attempt < options.maxAttempts;
        const settled = requeue
          ? await this.deps.eval(BROKER_REQUEUE, [this.stream(queue), this.wakeChannel(queue)], [...lease, String(attempt)], queue)
          : await this.deps.eval(BROKER_DEAD_LETTER, this.deadLetterArgs(queue, options).keys, [...lease, ...this.deadLetterArgs(queue, options).args], queue);
        if (settled !== 1) throw leaseLost(queue, raw.id);
      },
    };
  }

  async consume(queue: string, handler: (delivery: Delivery) => Promise<void>, options: ConsumeOptions = {}): Promise<Consumer> {
    await this.queueOptions(queue);
    const name = `${hostname()}:${process.pid}:${randomUUID()}`;
    return this.consumers.start(queue, handler, options, () => this.claim(queue, name), (wake) => this.deps.listen(this.wakeChannel(queue), wake));
  }

  /** Cancels every consumer, waiting for their handlers; the store closes after. */
  async close(): Promise<void> {
    await this.consumers.closeAll();
  }

  async stats(queue: string): Promise<QueueStats> {
    await this.queueOptions(queue);
    const messages = (await this.deps.run(['XLEN', this.stream(queue)])) as number;
    const dropped = Number((await this.deps.run(['GET', this.droppedKey(queue)])) ?? 0);
    return { messages, dropped };
  }
}
