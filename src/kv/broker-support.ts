import { CompozyError } from '../errors.js';
import type { ConsumeOptions, Consumer, Delivery, ExchangeType, QueueOptions } from './kv.js';
import { checkKey, checkPositiveMs, invalid } from './validate.js';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_VISIBILITY_MS = 30_000;
/** How often consumers look for messages whose visibility timeout passed (a consumer that died). */
const REDELIVERY_CHECK_MS = 250;

export interface ResolvedQueueOptions {
  durable: boolean;
  maxAttempts: number;
  deadLetter: string | undefined;
  visibilityMs: number;
}

export function resolveQueueOptions(name: string, options: QueueOptions): ResolvedQueueOptions {
  checkKey(name, 'queue');
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw invalid(`maxAttempts must be a positive integer, got ${maxAttempts}.`);
  if (options.deadLetter !== undefined) {
    checkKey(options.deadLetter, 'deadLetter');
    if (options.deadLetter === name) throw invalid(`queue "${name}" cannot be its own dead-letter queue.`);
  }
  return {
    durable: options.durable ?? true,
    maxAttempts,
    deadLetter: options.deadLetter,
    visibilityMs: options.visibilityTimeoutMs === undefined ? DEFAULT_VISIBILITY_MS : checkPositiveMs(options.visibilityTimeoutMs, 'visibilityTimeoutMs'),
  };
}

export function checkExchangeType(type: unknown): ExchangeType {
  if (type !== 'fanout' && type !== 'direct' && type !== 'topic') throw invalid(`exchange type must be fanout, direct or topic, got ${String(type)}.`);
  return type;
}

export function notFound(kind: 'exchange' | 'queue', name: string): CompozyError {
  return new CompozyError('BROKER_NOT_FOUND', `The ${kind} "${name}" is not declared.`, { hint: `Declare it first (declare${kind === 'queue' ? 'Queue' : 'Exchange'}).` });
}

export function leaseLost(queue: string, id: string): CompozyError {
  return new CompozyError('BROKER_LEASE_LOST', `Message ${id} of queue "${queue}" is no longer leased to this consumer: its visibility timeout passed and it went back to the queue.`, {
    hint: 'Raise visibilityTimeoutMs for slow handlers; the message will be delivered again.',
  });
}

function consumerErrorHandler(queue: string, options: ConsumeOptions): (error: Error) => void {
  return options.onError ?? ((error) => process.emitWarning(`compozy: consumer of queue "${queue}": ${error.message}`));
}

function checkPrefetch(options: ConsumeOptions): number {
  const prefetch = options.prefetch ?? 1;
  if (!Number.isSafeInteger(prefetch) || prefetch < 1) throw invalid(`prefetch must be a positive integer, got ${prefetch}.`);
  return prefetch;
}

/**
 * Runs a handler on a delivery and settles it the way the contract says: explicit ack/nack win;
 * otherwise returning acks and throwing nacks with requeue.
 */
export async function handleDelivery(delivery: Delivery, handler: (delivery: Delivery) => Promise<void>, onError: (error: Error) => void): Promise<void> {
  let settled = false;
  const tracked: Delivery = {
    ...delivery,
    ack: async () => {
      settled = true;
      await delivery.ack();
    },
    nack: async (options) => {
      settled = true;
      await delivery.nack(options);
    },
  };
  try {
    await handler(tracked);
  } catch (error) {
    onError(error as Error);
    if (!settled) await delivery.nack({ requeue: true }).catch((nackError: Error) => onError(nackError));
    return;
  }
  if (!settled) await delivery.ack().catch((ackError: Error) => onError(ackError));
}

/**
 * Keeps up to `prefetch` handlers running, claiming a message whenever a slot is free and something
 * may be waiting; `wake()` is called on commits and on a timer (for visibility timeouts).
 */
class ConsumerLoop {
  private active = true;
  private inFlight = new Set<Promise<void>>();
  private pumping = false;
  private again = false;

  constructor(
    private readonly prefetch: number,
    private readonly claim: () => Promise<Delivery | undefined>,
    private readonly handler: (delivery: Delivery) => Promise<void>,
    private readonly onError: (error: Error) => void,
  ) {}

  wake(): void {
    if (!this.active) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (this.active && this.inFlight.size < this.prefetch) {
          const delivery = await this.claim();
          if (!delivery) break;
          const running: Promise<void> = handleDelivery(delivery, this.handler, this.onError).finally(() => {
            this.inFlight.delete(running);
            this.wake();
          });
          this.inFlight.add(running);
        }
      } while (this.again && this.active);
    } catch (error) {
      this.onError(error as Error);
    } finally {
      this.pumping = false;
    }
  }

  async stop(): Promise<void> {
    this.active = false;
    await Promise.all([...this.inFlight]);
  }
}

/** The consumers of one broker: started with their wake-ups, cancelled together when the store closes. */
export class ConsumerSet {
  private readonly active = new Set<Consumer>();

  /**
   * `onWake` subscribes to the adapter's "something changed" signal and returns how to unsubscribe;
   * a timer covers leases that lapse without any write.
   */
  async start(
    queue: string,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
    claim: () => Promise<Delivery | undefined>,
    onWake: (wake: () => void) => Promise<() => void | Promise<void>>,
  ): Promise<Consumer> {
    const loop = new ConsumerLoop(checkPrefetch(options), claim, handler, consumerErrorHandler(queue, options));
    const stopWaking = await onWake(() => loop.wake());
    const timer = setInterval(() => loop.wake(), REDELIVERY_CHECK_MS);
    loop.wake();
    const consumer: Consumer = {
      cancel: async () => {
        this.active.delete(consumer);
        clearInterval(timer);
        await stopWaking();
        await loop.stop();
      },
    };
    this.active.add(consumer);
    return consumer;
  }

  /** Cancels every consumer, waiting for their handlers. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.active].map((consumer) => consumer.cancel()));
  }
}
