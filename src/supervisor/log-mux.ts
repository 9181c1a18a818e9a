import { Chalk, type ChalkInstance } from 'chalk';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const PALETTE: ReadonlyArray<(c: ChalkInstance) => ChalkInstance> = [(c) => c.cyan, (c) => c.magenta, (c) => c.yellow, (c) => c.green, (c) => c.blue];

export interface LogMuxOptions {
  names: readonly string[];
  color: boolean;
  out: NodeJS.WritableStream;
  logDir: string;
}

/** How many lines of a child's current run are kept for a start-up failure report. */
const RECENT_LINES = 50;

/** A child that failed to start, as a user reads it: the message, then its last lines of this run (at most 20) and where its whole log is. */
export function failureDetails(message: string, logFile: string, lines: readonly string[]): string {
  const last = lines.slice(-20);
  return `✗ ${message}\n  Last lines of ${logFile} from this run:\n${(last.length > 0 ? last.join('\n') : '(no output)').replace(/^/gm, '    ')}`;
}

/**
 * Interleaves children's lines (split by execa) behind aligned `[name]` prefixes, coloured only when
 * asked, and copies each child's output, without terminal escape codes, to `<logDir>/<name>.log`.
 */
export class LogMux {
  private readonly width: number;
  private readonly files = new Map<string, WriteStream>();
  private readonly chalk: ChalkInstance;
  private readonly muted = new Set<string>();
  private readonly recentLines = new Map<string, string[]>();

  constructor(private readonly options: LogMuxOptions) {
    this.width = Math.max(...options.names.map((name) => name.length)) + 2;
    this.chalk = new Chalk({ level: options.color ? 1 : 0 });
    mkdirSync(options.logDir, { recursive: true });
  }

  logFile(name: string): string {
    return join(this.options.logDir, `${name}.log`);
  }

  prefix(name: string): string {
    const label = `[${name}]`.padEnd(this.width);
    const index = Math.max(0, this.options.names.indexOf(name)) % PALETTE.length;
    return (PALETTE[index] as (c: ChalkInstance) => ChalkInstance)(this.chalk)(label);
  }

  /** One line a child printed (without its newline), or one of the supervisor's own about it. */
  line(name: string, line: string): void {
    const plain = stripVTControlCharacters(line);
    this.file(name).write(`${plain}\n`);
    const recent = this.recentLines.get(name) ?? [];
    recent.push(plain);
    if (recent.length > RECENT_LINES) recent.shift();
    this.recentLines.set(name, recent);
    if (!this.muted.has(name)) this.options.out.write(`${this.prefix(name)} ${this.options.color ? line : plain}\n`);
  }

  /** A child (re)starts: what it printed before no longer explains how this run goes. */
  startRun(name: string): void {
    this.recentLines.set(name, []);
    this.muted.delete(name);
  }

  /** The last lines the child printed in its current run. */
  recent(name: string, count: number): string[] {
    return (this.recentLines.get(name) ?? []).slice(-count);
  }

  /** Keeps a stopping child's shutdown chatter out of the console; its log file still gets it. */
  mute(name: string): void {
    this.muted.add(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map((stream) => new Promise<void>((res) => stream.end(res))));
    this.files.clear();
  }

  private file(name: string): WriteStream {
    let stream = this.files.get(name);
    if (!stream) {
      stream = createWriteStream(this.logFile(name), { flags: 'a' });
      this.files.set(name, stream);
    }
    return stream;
  }
}
