import { DatabaseSync } from 'node:sqlite';

/**
 * Wakes listeners when any connection commits to the file: `PRAGMA data_version` on a connection of
 * our own changes on every commit made through another connection, in this process or another one.
 * Runs only while someone listens, and then keeps the process alive, like a Redis socket would.
 */
export class ChangeWatcher {
  private readonly listeners = new Set<() => void>();
  private connection: DatabaseSync | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastVersion = -1;

  constructor(
    private readonly path: string,
    private readonly pollMs: number,
  ) {}

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Commits made by this process's writer: wake listeners now instead of at the next poll. */
  notifyLocal(): void {
    for (const listener of [...this.listeners]) listener();
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    if (this.timer || this.path === ':memory:') return;
    this.connection = new DatabaseSync(this.path, { readOnly: true, timeout: 5000 });
    const version = this.connection.prepare('PRAGMA data_version');
    this.timer = setInterval(() => {
      const { data_version: current } = version.get() as { data_version: number };
      if (current === this.lastVersion) return;
      this.lastVersion = current;
      this.notifyLocal();
    }, this.pollMs);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.connection?.close();
    this.connection = undefined;
    this.lastVersion = -1;
  }
}
