import { loadProject, resolveProjectDir, stateDir, type Project } from '../config/project.js';
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
