import { accessSync, closeSync, constants, existsSync, linkSync, mkdirSync, openSync, readSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { CompozyError, errorMessage, type ErrorCode } from '../errors.js';

/** How the messages of one kind of database file name it and which codes its failures carry. */
export interface SqliteFileKind {
  /** e.g. "KV database", "execution store". */
  noun: string;
  openCode: Extract<ErrorCode, 'KV_OPEN_FAILED' | 'STORE_OPEN_FAILED'>;
  unavailableCode: Extract<ErrorCode, 'KV_UNAVAILABLE' | 'STORE_UNAVAILABLE'>;
}

/**
 * What every compozy database runs with: WAL (readers never wait for the writer) and synchronous=NORMAL
 * (a commit survives the process being killed; the last commits before an OS crash or power loss may be
 * lost, the file stays consistent). README "What compozy promises" states the same.
 */
const PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = ON;';
const HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** While running, a statement waits this long (blocking the event loop) for another process's lock; longer waits are asynchronous. */
const RUNTIME_BUSY_MS = 10;
/** How long a write waits, in all, for another process's lock before it fails as unavailable. */
export const DEFAULT_LOCK_WAIT_MS = 5000;
const QUICK_CHECK_ROWS = 5;

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NOMEM = 7;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_PROTOCOL = 15;
const SQLITE_NOTADB = 26;
const STORAGE_FAULTS: ReadonlySet<number> = new Set([SQLITE_NOMEM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_NOTADB]);

/** The primary SQLite result code of a node:sqlite error, or undefined for anything else. */
function sqliteCode(error: unknown): number | undefined {
  const errcode = (error as { code?: unknown; errcode?: unknown } | null)?.errcode;
  return (error as { code?: unknown } | null)?.code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number' ? errcode & 0xff : undefined;
}

function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
}

/** Whether the filesystem holding the file has no block left that this process may use (root may use the reserved ones). */
function diskIsFull(path: string): boolean {
  try {
    const stats = statfsSync(dirname(path));
    return (process.getuid?.() === 0 ? stats.bfree : stats.bavail) === 0;
  } catch {
    return false;
  }
}

/** Whether the error is (or maps to) the disk holding the file being full. */
function isDiskFull(error: unknown, path: string): boolean {
  const code = sqliteCode(error);
  return code === SQLITE_FULL || (code === SQLITE_IOERR && diskIsFull(path));
}

function diskFull(kind: SqliteFileKind, path: string, error: unknown): CompozyError {
  const hint = `Free space on the filesystem of ${dirname(path)}; compozy resumes writing as soon as there is room, nothing committed before was lost.`;
  return new CompozyError('DISK_FULL', `The disk holding the ${kind.noun} ${path} is full; the write was not made (${errorMessage(error)}).`, {
    hint,
    details: { file: path, cause: errorMessage(error), hint },
    cause: error,
  });
}

function lockedMessage(kind: SqliteFileKind, path: string, waitedMs: number): string {
  return `The ${kind.noun} ${path} is locked by another process (waited ${waitedMs} ms for its write lock).`;
}

const LOCK_HINT = (path: string) => `Another program holds a write transaction open on ${path} (find it with \`fuser ${path}\` or \`lsof ${path}\`); compozy recovers by itself once it commits or exits.`;

/**
 * A storage failure while running, as a typed error: locked, disk full, I/O error, corruption or a
 * read-only file. Anything else (a constraint, a bad argument) is returned as it was.
 */
export function storageError(kind: SqliteFileKind, path: string, error: unknown): unknown {
  if (error instanceof CompozyError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  if (isBusy(error)) {
    return new CompozyError(kind.unavailableCode, `${lockedMessage(kind, path, 0)} ${errorMessage(error)}`, { hint: LOCK_HINT(path), details: { file: path, cause: errorMessage(error), hint: LOCK_HINT(path) }, cause: error });
  }
  if (isDiskFull(error, path)) return diskFull(kind, path, error);
  if (!STORAGE_FAULTS.has(code)) return error;
  const hint =
    code === SQLITE_READONLY || code === SQLITE_CANTOPEN
      ? `Make ${dirname(path)} and the files in it writable by this user.`
      : code === SQLITE_CORRUPT || code === SQLITE_NOTADB
        ? `The file is damaged: stop compozy, move ${path} aside (keep it for recovery with \`sqlite3 ${basename(path)} .recover\`) and start again.`
        : `Check the disk and filesystem holding ${path}.`;
  return new CompozyError(kind.unavailableCode, `The ${kind.noun} ${path} failed: ${errorMessage(error)}.`, { hint, details: { file: path, cause: errorMessage(error), hint }, cause: error });
}

function openFailure(kind: SqliteFileKind, path: string, reason: string, hint: string, cause?: unknown): CompozyError {
  return new CompozyError(kind.openCode, `Cannot open the ${kind.noun} ${path}: ${reason}`, { hint, details: { file: path }, ...(cause !== undefined ? { cause } : {}) });
}

const LEFT_UNTOUCHED = 'compozy did not change it.';

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(HEADER.length);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function migrate(db: DatabaseSync, migrations: readonly string[], describe: () => string): void {
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (current > migrations.length) throw new Error(`its schema version ${current} is newer than this compozy understands (${migrations.length}); upgrade compozy`);
  if (current === migrations.length) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    const again = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    for (let version = again; version < migrations.length; version++) db.exec(migrations[version] as string);
    db.exec(`PRAGMA user_version = ${migrations.length}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw new Error(`${describe()}: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Read-only checks of a file that already exists, made before anything may write to it: the SQLite
 * header, `PRAGMA quick_check`, and a schema version this compozy understands. Side files a read-only
 * connection created (`-wal`, `-shm`) are removed again when the file is refused.
 */
function checkExisting(kind: SqliteFileKind, path: string, migrations: readonly string[]): void {
  const size = statSync(path).size;
  if (size === 0) {
    throw openFailure(kind, path, 'the file exists but is empty (0 bytes): whatever it held is gone, and compozy does not create a new database over it.', `Restore ${path} from a backup, or delete it to start with an empty ${kind.noun}; ${LEFT_UNTOUCHED}`);
  }
  if (!readHeader(path).equals(HEADER)) {
    throw openFailure(kind, path, 'the file is not an SQLite database (its header is wrong).', `Restore ${path} from a backup, or move it aside to start with an empty ${kind.noun}; ${LEFT_UNTOUCHED}`);
  }
  const sideFiles = ['-wal', '-shm'].filter((suffix) => !existsSync(path + suffix));
  let reader: DatabaseSync | undefined;
  try {
    reader = new DatabaseSync(path, { readOnly: true, timeout: 1000 });
    const problems = (reader.prepare(`PRAGMA quick_check(${QUICK_CHECK_ROWS})`).all() as Array<{ quick_check: string }>).map((row) => row.quick_check);
    if (problems.length !== 1 || problems[0] !== 'ok') throw new Error(problems.join('; '));
    const version = (reader.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > migrations.length) {
      throw openFailure(kind, path, `its schema version ${version} is newer than this compozy understands (${migrations.length}); upgrade compozy.`, `Run the compozy version that wrote it; ${LEFT_UNTOUCHED}`);
    }
  } catch (error) {
    reader?.close();
    reader = undefined;
    for (const suffix of sideFiles) rmSync(path + suffix, { force: true });
    if (error instanceof CompozyError) throw error;
    if (isBusy(error)) throw openFailure(kind, path, `${lockedMessage(kind, path, 1000)}`, LOCK_HINT(path), error);
    if (sqliteCode(error) === SQLITE_CANTOPEN || sqliteCode(error) === SQLITE_READONLY) {
      throw openFailure(kind, path, `it cannot be opened (${errorMessage(error)}).`, `Check that this user can read and write ${path} and its folder; ${LEFT_UNTOUCHED}`, error);
    }
    throw openFailure(
      kind,
      path,
      `the file failed its integrity check (${errorMessage(error)}).`,
      `Stop compozy, move ${path} aside and recover what you can with \`sqlite3 ${path} .recover\`, or restore a backup; ${LEFT_UNTOUCHED}`,
      error,
    );
  } finally {
    reader?.close();
  }
}

function checkWritable(kind: SqliteFileKind, path: string): void {
  for (const target of [dirname(path), ...(existsSync(path) ? [path] : [])]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const readOnlyFs = (error as NodeJS.ErrnoException).code === 'EROFS';
      throw openFailure(
        kind,
        path,
        `${target} is not writable${readOnlyFs ? ' (read-only filesystem)' : ''}, and compozy keeps its state there.`,
        readOnlyFs ? `Run the project from a writable folder, or remount ${dirname(path)} read-write.` : `Make it writable for this user (e.g. \`chmod u+w ${target}\`) or run compozy as its owner.`,
        error,
      );
    }
  }
}

/**
 * Creates a new database beside its final path and links it into place only once it is complete,
 * so a file at `path` is always a whole, migrated database (a crash during creation leaves no empty
 * file that would later be refused). Losing the race to another process just means using its file.
 */
function createComplete(path: string, migrations: readonly string[]): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.new`);
  try {
    const db = new DatabaseSync(temporary);
    try {
      db.exec(PRAGMAS);
      migrate(db, migrations, () => 'creating it failed');
    } finally {
      db.close();
    }
    try {
      linkSync(temporary, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      // A filesystem without hard links: a rename, which could replace a file another process created meanwhile, so only when there is none.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
      if (!existsSync(path)) renameSync(temporary, path);
    }
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(temporary + suffix, { force: true });
  }
}

export interface OpenOptions {
  /** How long opening waits for another process's write lock when the file needs migrating (ms). */
  busyTimeoutMs?: number;
}

/**
 * Opens a compozy database file. A missing file is created (whole, via createComplete); a file that
 * exists is checked read-only first (header, quick_check, schema version) and refused with a typed
 * error naming it when it is empty or damaged, so nothing ever writes to a file that failed its check.
 * Then WAL and the migrations it lacks (PRAGMA user_version); a file already at the current version is
 * not written at all, so opening works while another process holds the write lock.
 */
export function openDatabase(path: string, migrations: readonly string[], kind: SqliteFileKind, options: OpenOptions = {}): DatabaseSync {
  const waitMs = options.busyTimeoutMs ?? DEFAULT_LOCK_WAIT_MS;
  if (path === ':memory:') {
    const db = new DatabaseSync(path);
    db.exec(PRAGMAS);
    migrate(db, migrations, () => 'migrating it failed');
    return db;
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw openFailure(kind, path, `its folder cannot be created (${errorMessage(error)}).`, `Create ${dirname(path)} and make it writable for this user.`, error);
  }
  if (existsSync(path)) {
    checkWritable(kind, path);
    checkExisting(kind, path, migrations);
  } else {
    if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) {
      throw openFailure(kind, path, `the file is missing but its write-ahead log ${path}-wal is still there; a new file would not match it.`, `Restore ${path} (it was deleted or moved), or delete ${path}-wal too to start empty; ${LEFT_UNTOUCHED}`);
    }
    checkWritable(kind, path);
    try {
      createComplete(path, migrations);
    } catch (error) {
      throw openFailure(kind, path, `creating it failed (${errorMessage(error)}).`, isDiskFull(error, path) ? `Free space on the filesystem of ${dirname(path)}.` : `Check that ${dirname(path)} is writable.`, error);
    }
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { timeout: waitMs });
    db.exec(PRAGMAS);
    migrate(db, migrations, () => 'migrating it failed');
    db.exec(`PRAGMA busy_timeout = ${RUNTIME_BUSY_MS}`);
    return db;
  } catch (error) {
    db?.close();
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (isBusy(cause)) throw openFailure(kind, path, `${lockedMessage(kind, path, waitMs)} It needs that lock once, to upgrade its schema.`, LOCK_HINT(path), error);
    if (isDiskFull(cause, path)) throw openFailure(kind, path, `the disk is full (${errorMessage(error)}).`, `Free space on the filesystem of ${dirname(path)}.`, error);
    throw openFailure(kind, path, `${errorMessage(error)}.`, `Check that ${path} is a compozy ${kind.noun} and its folder is writable; it was not changed.`, error);
  }
}

/** A storage problem the file has now: what health reports as the component's degraded state. */
interface StorageFault {
  code: ErrorCode;
  message: string;
  since: string;
}

interface Waiter {
  run(): void;
  fail(error: unknown): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

/**
 * Runs a database's statements so storage trouble never blocks the event loop or escapes untyped.
 * node:sqlite is synchronous, so a lock held by another process is waited for here: each attempt
 * blocks at most RUNTIME_BUSY_MS (SQLite's busy handler retries inside it); an operation that still
 * finds the file locked joins a queue, and one pump retries the queue's head on a growing backoff
 * (5 → 100 ms) and, once it gets through, runs the rest in order. While the queue is not empty, new
 * writes join it rather than block again; an operation that waited its whole `waitMs` fails with the
 * kind's `*_UNAVAILABLE` code. Every storage failure is remembered as a fault until a later write
 * succeeds, so health can report the component degraded.
 */
export class SqliteGuard {
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private current: (StorageFault & { lock: boolean; changes: number }) | undefined;
  private changesQuery: StatementSync | undefined;
  private txStatements: { begin: StatementSync; commit: StatementSync; rollback: StatementSync } | undefined;

  constructor(
    private readonly db: DatabaseSync,
    readonly path: string,
    private readonly kind: SqliteFileKind,
    private readonly waitMs = DEFAULT_LOCK_WAIT_MS,
  ) {}

  /** A read: runs now (in WAL a writer never blocks readers); only when the file is locked against reads too does it queue like a write. */
  /**
   * `fn` as one BEGIN IMMEDIATE … COMMIT on this connection (statements prepared once), rolled back when
   * it throws — unless SQLite already rolled back by itself (a full disk), where a second ROLLBACK would
   * hide the cause. Synchronous: run it inside write() to wait for another process's lock.
   */
  transaction<T>(fn: () => T): T {
    const tx = (this.txStatements ??= { begin: this.db.prepare('BEGIN IMMEDIATE'), commit: this.db.prepare('COMMIT'), rollback: this.db.prepare('ROLLBACK') });
    tx.begin.run();
    try {
      const result = fn();
      tx.commit.run();
      return result;
    } catch (error) {
      if (this.db.isTransaction) tx.rollback.run();
      throw error;
    }
  }

  read<T>(fn: () => T): T | Promise<T> {
    try {
      return fn();
    } catch (error) {
      if (isBusy(error)) return this.enqueue(fn);
      throw this.fail(error);
    }
  }

  /** A write (one statement or one whole transaction, so running it again is safe): runs now unless writes are already queued behind a lock. */
  write<T>(fn: () => T): T | Promise<T> {
    if (this.queue.length > 0) return this.enqueue(fn);
    try {
      const result = fn();
      this.succeeded();
      return result;
    } catch (error) {
      if (isBusy(error)) return this.enqueue(fn);
      throw this.fail(error);
    }
  }

  /** For timer callbacks: runs the work now unless writes are queued behind a lock, and reports whether it did; never throws. */
  attempt(fn: () => void): boolean {
    if (this.queue.length > 0 || !this.db.isOpen) return false;
    try {
      fn();
      this.succeeded();
      return true;
    } catch (error) {
      if (isBusy(error)) this.recordLock();
      else this.fail(error);
      return false;
    }
  }

  /**
   * The fault health should report: a lock probe now (waiting at most RUNTIME_BUSY_MS, so another
   * process's ordinary short transaction is not reported), else the last storage failure, which stands
   * until a write changes the file again, else a filesystem with no space left (before any write failed).
   */
  fault(): StorageFault | undefined {
    if (this.db.isOpen && this.queue.length === 0) {
      if (this.lockedNow()) this.recordLock();
      else if (this.current?.lock) this.current = undefined;
    }
    if (!this.current && this.path !== ':memory:' && diskIsFull(this.path)) {
      return { code: 'DISK_FULL', since: new Date().toISOString(), message: `the filesystem holding ${this.path} has no space left; writes that need room will fail with DISK_FULL until space is freed.` };
    }
    if (!this.current) return undefined;
    const { code, message, since, lock } = this.current;
    return { code, since, message: lock ? `${message} (since ${since})` : `the last write failed at ${since} and none has succeeded since: ${message}` };
  }

  private record(code: ErrorCode, message: string, lock = false): void {
    if (this.current?.code === code && this.current.lock === lock) return;
    this.current = { code, message, lock, since: new Date().toISOString(), changes: this.totalChanges() };
  }

  private recordLock(): void {
    this.record(this.kind.unavailableCode, `${this.path} is locked by another process; writes wait up to ${this.waitMs} ms for it, then fail. ${LOCK_HINT(this.path)}`, true);
  }

  private totalChanges(): number {
    try {
      this.changesQuery ??= this.db.prepare('SELECT total_changes() AS n');
      return Number((this.changesQuery.get() as { n: number }).n);
    } catch {
      return 0;
    }
  }

  private succeeded(): void {
    if (!this.current) return;
    if (this.current.lock) this.current = undefined;
    else if (this.totalChanges() > this.current.changes) this.current = undefined;
  }

  private fail(error: unknown): unknown {
    const typed = storageError(this.kind, this.path, error);
    if (typed instanceof CompozyError && typed !== error) this.record(typed.code, typed.message);
    return typed;
  }

  /** Whether another connection holds the write lock, found by taking it and giving it back. */
  private lockedNow(): boolean {
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return false;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      return isBusy(error);
    }
  }

  private timeout(started: number): CompozyError {
    const message = lockedMessage(this.kind, this.path, Date.now() - started);
    return new CompozyError(this.kind.unavailableCode, message, { hint: LOCK_HINT(this.path), details: { file: this.path, cause: 'database is locked', hint: LOCK_HINT(this.path) } });
  }

  private enqueue<T>(fn: () => T): Promise<T> {
    this.recordLock();
    const started = Date.now();
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        done: false,
        run: () => resolve(fn()),
        fail: reject,
        timer: setTimeout(() => this.settle(waiter, this.timeout(started)), this.waitMs),
      };
      this.queue.push(waiter);
      void this.pump();
    });
  }

  private settle(waiter: Waiter, error?: unknown): void {
    if (waiter.done) return;
    waiter.done = true;
    clearTimeout(waiter.timer);
    const index = this.queue.indexOf(waiter);
    if (index >= 0) this.queue.splice(index, 1);
    if (error !== undefined) waiter.fail(error);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let delay = 5;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0] as Waiter;
        if (!this.db.isOpen) {
          this.settle(head, new CompozyError(this.kind.unavailableCode, `The ${this.kind.noun} ${this.path} was closed while an operation waited for its lock.`));
          continue;
        }
        try {
          head.run();
          this.succeeded();
          this.settle(head);
          delay = 5;
        } catch (error) {
          if (!isBusy(error)) {
            this.settle(head, this.fail(error));
            continue;
          }
          await sleep(delay);
          delay = Math.min(delay * 2, 100);
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
