import { relative } from 'node:path';
import { ProjectWatch, projectFiles } from '../config/project-watch.js';
import type { AppSettings } from '../config/settings.js';
import type { ConfigDiagnostic } from '../config/yaml-file.js';
import { loadValidProject } from '../config/valid-project.js';
import { CompozyError, errorMessage } from '../errors.js';
import type { ProcessEvent } from '../server/events.js';
import type { LocalCompozy } from './compozy.js';

/** The settings the platform started with, and how to read them again from the project as it is now. */
export interface WatchedSettings {
  running: AppSettings;
  now(): AppSettings;
}

/**
 * The settings that differ from those the platform runs with, by the key, variable or flag that sets
 * them now (or set them before, when the new value is the default): a reload does not apply them.
 */
function changedSettings(settings: WatchedSettings): string[] {
  const now = settings.now();
  const { running } = settings;
  return (Object.keys(now) as (keyof AppSettings)[])
    .filter((key) => JSON.stringify(now[key].value) !== JSON.stringify(running[key].value))
    .map((key) => (now[key].source === 'default' ? running[key].origin : now[key].origin));
}

/** A running watch mode: close() stops watching and waits for a reload under way. */
export interface WatchMode {
  close(): Promise<void>;
}

/**
 * Watch mode of a started platform: when the project's files change, the project is loaded and
 * validated again; a project that does not validate is reported with each problem's file:line:col
 * and the running version goes on; a valid one replaces it (LocalCompozy.reload), and the settings read
 * once at start-up that changed (a port, the mode, a backend) are named as needing a restart. Changes that arrive
 * during a reload are taken together by one more reload after it.
 */
export function startWatchMode(compozy: LocalCompozy, dir: string, emit: (event: ProcessEvent) => void, settings: WatchedSettings): WatchMode {
  const changed = new Set<string>();
  let running: Promise<void> | undefined;
  let closed = false;
  const name = (file: string) => relative(dir, file) || file;

  const reloadOnce = async (files: string[]): Promise<void> => {
    const started = performance.now();
    let config;
    let unapplied: string[];
    try {
      config = loadValidProject(dir);
      unapplied = changedSettings(settings);
    } catch (error) {
      const diagnostics = error instanceof CompozyError && error.code === 'CONFIG_INVALID' ? ((error.details?.diagnostics ?? []) as ConfigDiagnostic[]) : [];
      emit({ event: 'reload-failed', files, message: errorMessage(error), diagnostics: diagnostics.map((d) => ({ file: name(d.file), line: d.line, col: d.col, message: d.message })) });
      return;
    }
    try {
      await compozy.reload(config);
    } catch (error) {
      emit({ event: 'reload-failed', files, message: `the new version did not start: ${errorMessage(error)}`, diagnostics: [] });
      return;
    }
    watch.addFiles(projectFiles(config));
    emit({ event: 'reload', files, durationMs: performance.now() - started, ...compozy.loaded(), unapplied });
  };

  const drain = async (): Promise<void> => {
    while (changed.size > 0 && !closed) {
      const files = [...changed].map(name).sort();
      changed.clear();
      await reloadOnce(files);
    }
    running = undefined;
  };

  const watch = new ProjectWatch({
    dir,
    files: projectFiles(compozy.project),
    onChange: (files) => {
      for (const file of files) changed.add(file);
      running ??= drain();
    },
    onError: (message) => emit({ event: 'log', message: `watch: ${message}` }),
  });

  return {
    async close() {
      closed = true;
      watch.close();
      await running;
    },
  };
}
