import { loadProject, resolveProjectDir, stateDir, type Project } from '../config/project.js';
import { CompozyError } from '../errors.js';
import { loadSettings, projectEnv, type AppSettings, type SettingFlags } from '../config/settings.js';

export interface ProjectContext {
  project: Project;
  settings: AppSettings;
  env: NodeJS.ProcessEnv;
  stateDir: string;
}

export function openProject(argument: string | undefined, flags: SettingFlags = {}): ProjectContext {
  const project = loadProject(resolveProjectDir(argument));
  const env = projectEnv(project.dir);
  return { project, settings: loadSettings(project, flags, env), env, stateDir: stateDir(project) };
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
