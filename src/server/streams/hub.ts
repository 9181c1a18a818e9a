import type { Subscription } from '../../kv/kv.js';
import { loggedRecord, type ExecutionStreamLog, type LoggedRecord } from '../../engine/stream-log.js';

type Listener = (record: LoggedRecord) => void;

/**
 * One server process's view of the stream logs: a single pattern subscription for the records of every
 * execution and one for execution status changes, fanned out to the open SSE streams by execution id,
 * so a thousand streams cost the KV two subscriptions, not a thousand.
 */
export class StreamHub {
  private readonly byExec = new Map<string, Set<Listener>>();
  private readonly statusListeners = new Set<Listener>();
  private readonly closers = new Set<() => void>();
  private subscriptions: Promise<Subscription[]> | undefined;
  private closed = false;

  constructor(readonly log: ExecutionStreamLog) {}

  /** Subscribes on first use; a listener registered after this resolves hears every record published after. */
  start(): Promise<Subscription[]> {
    this.subscriptions ??= Promise.all([this.log.subscribeRecords(), this.log.subscribeExecutions()]).then((subs) => {
      const [records, executions] = subs as [Subscription, Subscription];
      void this.pump(records, (record) => this.byExec.get(record.execId)?.forEach((listener) => listener(record)));
      void this.pump(executions, (record) => this.statusListeners.forEach((listener) => listener(record)));
      return subs;
    });
    return this.subscriptions;
  }

  private async pump(subscription: Subscription, deliver: (record: LoggedRecord) => void): Promise<void> {
    for await (const message of subscription) {
      const record = loggedRecord(message.data);
      if (record) deliver(record);
    }
  }

  /** Hears the records of one execution; returns the function that stops it. */
  async listen(execId: string, listener: Listener): Promise<() => void> {
    await this.start();
    let set = this.byExec.get(execId);
    if (!set) this.byExec.set(execId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byExec.get(execId) === set) this.byExec.delete(execId);
    };
  }

  /** Hears the status changes of every execution. */
  async listenExecutions(listener: Listener): Promise<() => void> {
    await this.start();
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** A stream registers how to end it, so closing the server ends every open stream. */
  onClose(close: () => void): () => void {
    if (this.closed) {
      close();
      return () => undefined;
    }
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  /** Ends every open stream and refuses new ones: the server's close would otherwise wait for them. */
  endStreams(): void {
    this.closed = true;
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }

  async close(): Promise<void> {
    this.endStreams();
    const subs = this.subscriptions ? await this.subscriptions.catch(() => []) : [];
    await Promise.all(subs.map((sub) => sub.unsubscribe()));
  }
}
