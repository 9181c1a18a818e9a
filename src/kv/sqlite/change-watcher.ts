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
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener that could not read the file now (locked, I/O error) is woken again at the next poll.
        this.lastVersion = -1;
      }
    }
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
      let current: number;
      try {
        current = (version.get() as { data_version: number }).data_version;
      } catch {
        // The file cannot be read right now (I/O error, locked against readers): poll again next tick.
        return;
      }
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
