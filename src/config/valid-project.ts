import { relative } from 'node:path';
import { CompozyError } from '../errors.js';
import { runtimePermissionDiagnostics } from '../tools/bun.js';
import { loadProjectConfig } from './load.js';
import type { ProjectConfig } from './types.js';
import { sortDiagnostics, validateProject } from './validate.js';

/** Loads and validates a project for running it; any problem stops start-up with every problem listed. */
export function loadValidProject(dir: string): ProjectConfig {
  const { project, diagnostics: loadProblems } = loadProjectConfig(dir);
  // An unknown runtime permission would stop the tool runtime at start-up; it is refused here with the rest.
  const diagnostics = sortDiagnostics([...loadProblems, ...(project ? [...validateProject(project), ...runtimePermissionDiagnostics(project)] : [])]);
  if (!project || diagnostics.length > 0) {
    const lines = diagnostics.map((d) => `  ${relative(dir, d.file) || d.file}:${d.line}:${d.col}: ${d.key ? `${d.key}: ` : ''}${d.message}`);
    throw new CompozyError('CONFIG_INVALID', `The project in ${dir} has ${diagnostics.length === 1 ? 'a configuration problem' : `${diagnostics.length} configuration problems`}:\n${lines.join('\n')}`, {
      hint: `Run \`compozy config validate ${dir}\` for the details and hints.`,
      details: { diagnostics },
    });
  }
  return project;
}
