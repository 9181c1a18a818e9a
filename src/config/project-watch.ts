import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { ProjectConfig } from './types.js';

/** The files whose change reloads a project: its YAML, the entrypoint's and tools' code, and .env. */
const WATCHED_FILE = /\.(ya?ml|[cm]?[jt]s|[jt]sx)$/;

/** How long the files must stay quiet before a change is taken: an editor saves in several steps (a temporary file, a rename, a chmod). */
const QUIET_MS = 150;

function watched(path: string): boolean {
  return WATCHED_FILE.test(path) || basename(path) === '.env';
}

/** Folders never watched: the run's state (.compozy/ changes with every execution), dependencies, and other dot-folders (.git). */
function skipped(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/** Every file the loaded project was read from: compozy.yaml, its workflows and their resources. */
export function projectFiles(project: ProjectConfig): string[] {
  const located = [...project.workflows, ...project.agents, ...project.tools, ...project.memories, ...project.tasks, ...project.schemas];
  return [...new Set([project.file.path, ...located.map((item) => item.file.path)].map((path) => resolve(path)))];
}

function digest(path: string): string | undefined {
  try {
    return createHash('sha1').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface ProjectWatchOptions {
  /** The project folder, watched with its subfolders. */
  dir: string;
  /** Files read from outside the folder (a workflow `source: ../shared/flow.yaml`): their folders are watched too. */
  files: readonly string[];
  /** Called once the files are quiet again, with the files whose content changed (absolute paths; a removed file is one). */
  onChange(files: string[]): void;
  /** A folder that could not be watched (removed, or out of inotify watches). */
  onError(message: string): void;
}

/**
 * Watches a project's folders for changes to the files a reload reads. node's fs.watch per folder
 * (inotify on Linux), not its recursive mode: that one would also watch every folder under
 * node_modules and .compozy, which a project does not reload for. A change is taken once the files
 * have been quiet for QUIET_MS, and only when a file's content differs from what was last seen, so a
 * save that changes nothing (or a touch) reloads nothing.
 */
export class ProjectWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly seen = new Map<string, string | undefined>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ProjectWatchOptions) {
    this.watchTree(resolve(options.dir));
    this.watchOutside(options.files);
  }

  /** After a reload: the folders of the files the new version reads (a workflow added from elsewhere). */
  addFiles(files: readonly string[]): void {
    this.watchOutside(files);
  }

  private watchOutside(files: readonly string[]): void {
    const root = resolve(this.options.dir);
    for (const file of files) {
      const folder = dirname(resolve(file));
      if (folder !== root && !folder.startsWith(`${root}${sep}`)) this.watchFolder(folder);
    }
  }

  /** Watches a folder and its subfolders; returns the watched files they hold. */
  private watchTree(folder: string): string[] {
    const files = this.watchFolder(folder);
    if (files === undefined) return [];
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return files;
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !skipped(entry.name)) files.push(...this.watchTree(join(folder, entry.name)));
    }
    return files;
  }

  /** Watches one folder and records what its watched files hold; undefined when it is watched already or cannot be. */
  private watchFolder(folder: string): string[] | undefined {
    if (this.closed || this.watchers.has(folder)) return undefined;
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, (_event, name) => this.changed(folder, name === null ? undefined : String(name)));
    } catch (error) {
      this.options.onError(`cannot watch ${folder}: ${(error as Error).message}`);
      return undefined;
    }
    watcher.on('error', (error) => {
      watcher.close();
      this.watchers.delete(folder);
      this.options.onError(`stopped watching ${folder}: ${error.message}`);
    });
    this.watchers.set(folder, watcher);
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return [];
    }
    const files: string[] = [];
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (!entry.isFile() || !watched(path)) continue;
      this.seen.set(path, digest(path));
      files.push(path);
    }
    return files;
  }

  private changed(folder: string, name: string | undefined): void {
    if (this.closed || name === undefined) return;
    const path = join(folder, name);
    // Any other name may be a folder created, moved or removed since: settle() looks.
    if (watched(path) || !skipped(name)) this.pending.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle(), QUIET_MS);
  }

  private settle(): void {
    if (this.closed) return;
    const changed: string[] = [];
    for (const path of this.pending) {
      if (!watched(path)) {
        // A folder that appeared brings its files with it (a checkout, a move): they are new.
        if (isFolder(path)) changed.push(...this.watchTree(path));
        else this.unwatch(path);
        continue;
      }
      const now = digest(path);
      if (now !== this.seen.get(path)) changed.push(path);
      if (now === undefined) this.seen.delete(path);
      else this.seen.set(path, now);
    }
    this.pending.clear();
    if (changed.length > 0) this.options.onChange([...new Set(changed)].sort());
  }

  /** A folder that is gone: its watchers go too, so the same folder made again is watched anew. */
  private unwatch(folder: string): void {
    for (const [path, watcher] of this.watchers) {
      if (path !== folder && !path.startsWith(`${folder}${sep}`)) continue;
      watcher.close();
      this.watchers.delete(path);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
