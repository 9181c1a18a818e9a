import type { Message, Subscription } from './kv.js';

export const DEFAULT_SUBSCRIPTION_BUFFER = 10_000;

/**
 * A subscription as an async iterator over a bounded buffer. When the reader falls behind and the
 * buffer is full, new messages are counted in `overflow` instead of growing memory without bound.
 */
export class BufferedSubscription implements Subscription {
  private readonly queue: Message[] = [];
  private waiting: ((result: IteratorResult<Message>) => void) | undefined;
  private closed = false;
  private dropped = 0;

  constructor(
    private readonly bufferSize: number,
    private readonly onUnsubscribe: () => Promise<void>,
  ) {}

  get overflow(): number {
    return this.dropped;
  }

  /** Adds messages the transport lost before they reached this subscription (e.g. pruned while lagging). */
  countLost(n: number): void {
    this.dropped += n;
  }

  push(message: Message): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: message, done: false });
      return;
    }
    if (this.queue.length >= this.bufferSize) {
      this.dropped++;
      return;
    }
    this.queue.push(message);
  }

  async unsubscribe(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    await this.onUnsubscribe();
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => {
        const queued = this.queue.shift();
        if (queued) return Promise.resolve({ value: queued, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }
}
