import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { CompozyError } from '../errors.js';

export const PROJECT_FILE = 'compozy.yaml';
/** The project's config file when it is not <dir>/compozy.yaml (`compozy dev --config <file>` sets it; relative to the project folder). */
export const CONFIG_FILE_ENV = 'COMPOZY_CONFIG_FILE';

/** The config file of the project in `dir`: COMPOZY_CONFIG_FILE when set, else compozy.yaml. */
export function projectFile(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[CONFIG_FILE_ENV];
  return given ? resolve(dir, given) : join(dir, PROJECT_FILE);
}

/** Root of the installed compozy package (holds examples/ and templates/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLES_DIR = join(PACKAGE_ROOT, 'examples');

export interface Project {
  name: string;
  dir: string;
  configPath: string;
  /** The parsed compozy.yaml as plain data; typed views over it live next to their users. */
  document: Record<string, unknown>;
}

export function listExamples(): string[] {
  try {
    return readdirSync(EXAMPLES_DIR).filter((name) => existsSync(join(EXAMPLES_DIR, name, PROJECT_FILE)));
  } catch {
    return [];
  }
}

export function loadProject(dir: string): Project {
  const configPath = projectFile(dir);
  if (!existsSync(configPath)) {
    throw new CompozyError('PROJECT_NOT_FOUND', configPath === join(dir, PROJECT_FILE) ? `${dir} has no ${PROJECT_FILE}.` : `The config file ${configPath} (${CONFIG_FILE_ENV}) does not exist.`, {
      hint: 'Run compozy inside a project directory, pass its path, or create one with `compozy init`.',
    });
  }
  const text = readFileSync(configPath, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = lineCounter.linePos(firstError.pos[0]);
    const line = text.split('\n')[pos.line - 1] ?? '';
    throw new CompozyError('CONFIG_INVALID', `${configPath}:${pos.line}:${pos.col}: ${firstError.message.split('\n')[0]}\n  ${line}\n  ${' '.repeat(Math.max(0, pos.col - 1))}^`, {
      hint: 'Fix the YAML syntax at the position shown.',
    });
  }
  if (!isMap(doc.contents)) {
    throw new CompozyError('CONFIG_INVALID', `${configPath}: the file must hold a mapping with at least \`name:\`.`, { hint: 'Start it with `name: my-project`.' });
  }
  const document = doc.toJS() as Record<string, unknown>;
  const name = document.name;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new CompozyError('CONFIG_INVALID', `${configPath}: \`name\` is required and must be a non-empty string.`, { hint: 'Add `name: my-project` at the top.' });
  }
  return { name, dir, configPath, document };
}

export function stateDir(project: Pick<Project, 'dir'>): string {
  return join(project.dir, '.compozy');
}
