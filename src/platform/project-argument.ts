import { relative } from 'node:path';

/**
 * How a message names a project folder in a command the user can copy: nothing for the current
 * folder, else the path from the current folder (quoted for the shell when needed), with a leading space.
 */
export function projectArgument(dir: string, cwd = process.cwd()): string {
  const path = relative(cwd, dir);
  if (path === '') return '';
  return ` ${/^[\w./@+-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`}`;
}
