import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { stringify } from 'yaml';
import { CompozyError } from '../errors.js';

/**
 * A project given as data instead of a folder: `config` is what compozy.yaml would hold, `files` the
 * other files by their path in the project (workflows, agents, replay fixtures, a tool entrypoint).
 * Objects are written as YAML, strings as they are.
 */
export interface ProjectDefinition {
  config: Record<string, unknown>;
  files?: Record<string, string | Record<string, unknown>>;
}

export interface ProjectFolder {
  dir: string;
  /** Removes the folder when it was written for a ProjectDefinition; a user's folder is left alone. */
  dispose(): void;
}

/**
 * The folder a project lives in. A definition is written into a temporary folder and loaded from
 * there like any project, so it gets the same validation and `file:line:col` diagnostics.
 */
export function projectFolder(project: string | ProjectDefinition): ProjectFolder {
  if (typeof project === 'string') return { dir: resolve(project), dispose: () => undefined };
  if (project === null || typeof project !== 'object' || project.config === null || typeof project.config !== 'object' || Array.isArray(project.config)) {
    throw new CompozyError('USAGE', 'project must be a folder path or {config, files?}, with config the contents of compozy.yaml as an object.');
  }
  const dir = mkdtempSync(join(tmpdir(), 'compozy-project-'));
  try {
    writeFileSync(join(dir, 'compozy.yaml'), stringify(project.config));
    for (const [path, content] of Object.entries(project.files ?? {})) {
      const relative = normalize(path);
      if (isAbsolute(relative) || relative.startsWith('..') || relative === 'compozy.yaml') {
        throw new CompozyError('USAGE', `files["${path}"] must be a path inside the project other than compozy.yaml (give compozy.yaml as config).`);
      }
      const target = join(dir, relative);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, typeof content === 'string' ? content : stringify(content));
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
