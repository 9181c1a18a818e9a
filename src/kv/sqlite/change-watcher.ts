import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Wakes listeners when any connection commits to the file: `PRAGMA data_version` on a connection of
 * our own changes on every commit made through another connection, in this process or another one.
 * It is checked when the file's write-ahead log changes (a filesystem event: a commit by another
 * process is seen within the event loop's next turn) and every `pollMs` besides, for a change whose
 * event is late or never comes (a platform or filesystem without change events). Runs only while
 * someone listens, and then keeps the process alive, like a Redis socket would.
 */
export class ChangeWatcher {
  private readonly listeners = new Set<() => void>();
  private connection: DatabaseSync | undefined;
  private timer: NodeJS.Timeout | undefined;
  private events: FSWatcher | undefined;
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
    const check = () => {
      let current: number;
      try {
        current = (version.get() as { data_version: number }).data_version;
      } catch {
        // The file cannot be read right now (I/O error, locked against readers): checked again at the next event or poll.
        return;
      }
      if (current === this.lastVersion) return;
      this.lastVersion = current;
      this.notifyLocal();
    };
    this.timer = setInterval(check, this.pollMs);
    // The folder, not the log itself: SQLite deletes and recreates the log file, and a watch on a file follows its old inode.
    const log = `${basename(this.path)}-wal`;
    try {
      this.events = watch(dirname(this.path), { persistent: false }, (_event, name) => {
        if (name === log) check();
      });
      // An error later (the folder removed, the watch limit) leaves the poll to wake listeners.
      this.events.on('error', () => this.closeEvents());
    } catch {
      // No change events here (the inotify watch limit, an unsupported filesystem): the poll alone wakes listeners.
      this.events = undefined;
    }
  }

  private closeEvents(): void {
    this.events?.close();
    this.events = undefined;
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.closeEvents();
    this.connection?.close();
    this.connection = undefined;
    this.lastVersion = -1;
  }
}
