import { cpSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { EXAMPLES_DIR, listExamples, loadProject, PROJECT_FILE, type Project } from '../config/project.js';
import { CompozyError } from '../errors.js';
import { loadSettings, projectEnv, runStateDir, type AppSettings, type SettingFlags } from '../config/settings.js';
import { didYouMean } from '../config/read.js';

export interface ProjectContext {
  project: Project;
  settings: AppSettings;
  env: NodeJS.ProcessEnv;
  stateDir: string;
}

type Narrate = (line: string) => void;

const toStderr: Narrate = (line) => process.stderr.write(`${line}\n`);

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const isProjectDir = (dir: string) => existsSync(join(dir, PROJECT_FILE));

/** Project folders next to the current one and the packaged examples: what a mistyped name most likely meant. */
function projectNames(cwd: string): string[] {
  let siblings: string[] = [];
  try {
    siblings = readdirSync(cwd, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isProjectDir(join(cwd, entry.name)))
      .map((entry) => entry.name);
  } catch {
    siblings = [];
  }
  return [...new Set([...siblings, ...listExamples()])];
}

/**
 * A packaged example inside an npm install is copied into `<cwd>/<name>` before it runs: Node refuses
 * to strip types of files under node_modules, and the project's state (.compozy/, results) belongs in
 * a folder the user owns, not in one npm replaces. A source checkout runs its examples in place.
 */
function copyExample(source: string, name: string, target: string, narrate: Narrate): string {
  cpSync(source, target, { recursive: true, errorOnExist: true, force: false, filter: (path) => !['.compozy', '.env'].includes(basename(path)) });
  // npm never packs a .gitignore, and a parent package.json of type commonjs would stop the example's
  // TypeScript entrypoint from loading as a module.
  if (!existsSync(join(target, '.gitignore'))) writeFileSync(join(target, '.gitignore'), '.compozy/\n.env\n');
  if (!existsSync(join(target, 'package.json'))) writeFileSync(join(target, 'package.json'), `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`);
  narrate(`• Copied the ${name} example into ${target} (yours to edit; its state goes to ${join(target, '.compozy')}). \`compozy dev ${name}\` here uses this copy from now on.`);
  return target;
}

/**
 * A project argument is a directory, or the name of a packaged example (`compozy dev weather`); no
 * argument means the current directory. An example name whose folder does not exist yet gets the
 * example copied there (see copyExample).
 */
export function resolveProject(argument: string | undefined, cwd = process.cwd(), narrate: Narrate = toStderr): string {
  if (argument === undefined) return cwd;
  const asPath = resolve(cwd, argument);
  const isExample = !argument.includes('/') && listExamples().includes(argument);
  if (isDirectory(asPath) && (!isExample || isProjectDir(asPath))) return asPath;
  if (isExample) {
    const source = join(EXAMPLES_DIR, argument);
    if (!source.split(sep).includes('node_modules')) return source;
    if (existsSync(asPath)) {
      throw new CompozyError('PROJECT_NOT_FOUND', `${asPath} is not a project (no ${PROJECT_FILE}), and "${argument}" also names a packaged example, which would be copied there.`, {
        hint: `Run it from a folder without a ./${argument}, or pass the path of a project.`,
      });
    }
    return copyExample(source, argument, asPath, narrate);
  }
  const guess = didYouMean(argument, projectNames(cwd));
  const examples = listExamples();
  throw new CompozyError('PROJECT_NOT_FOUND', `No project at "${argument}": ${asPath} is not a directory and there is no example named "${argument}".`, {
    hint: `${guess ? `Did you mean "${guess}"? ` : ''}Pass a project directory, or one of the examples: ${examples.join(', ') || '(none installed)'}.`,
  });
}

/**
 * `compozy run <workflow> [project]` outside any project, where `<workflow>` names a project folder or
 * a packaged example: run that project's workflow of the same name (`compozy run weather` is
 * `compozy run weather weather`). Said on stderr, never silent.
 */
export function resolveRunTarget(workflowId: string, projectArg: string | undefined, cwd = process.cwd(), narrate: Narrate = toStderr): { workflowId: string; projectArg: string | undefined } {
  if (projectArg !== undefined || isProjectDir(cwd) || workflowId.includes('/')) return { workflowId, projectArg };
  if (!isProjectDir(resolve(cwd, workflowId)) && !listExamples().includes(workflowId)) return { workflowId, projectArg };
  narrate(`• ${cwd} has no ${PROJECT_FILE}: running the ${workflowId} workflow of the ${workflowId} project (\`compozy run ${workflowId} ${workflowId}\`).`);
  return { workflowId, projectArg: workflowId };
}

export function openProject(argument: string | undefined, flags: SettingFlags = {}): ProjectContext {
  const project = loadProject(resolveProject(argument));
  const env = projectEnv(project.dir);
  const settings = loadSettings(project, flags, env);
  return { project, settings, env, stateDir: runStateDir(project, settings) };
}

/** The Temporal frontend a server or worker connects to; `compozy dev` is the way to get an embedded one. */
export function requireTemporalAddress(settings: AppSettings, what: string): string {
  const address = settings.temporalAddress.value;
  if (!address) {
    throw new CompozyError('USAGE', `${what} needs a Temporal address.`, {
      hint: 'Pass --temporal-address or set TEMPORAL_ADDRESS; `compozy dev` starts an embedded Temporal for you.',
    });
  }
  return address;
}
