import { CompozyError } from '../errors.js';
import { templates } from '../expr/template.js';

/**
 * Values such as `api_key` refer to the environment as `{{ .env.NAME }}` (the reference's form) or
 * `${NAME}` (later example configs). Both resolve against the project environment (real environment
 * over `.env`); a variable that is not set is an error naming it, never an empty key.
 */
export function resolveEnvReferences(value: string, env: NodeJS.ProcessEnv, what: string): string {
  const isSet = (name: string) => env[name] !== undefined && env[name] !== '';
  const named = [
    ...[...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string),
    ...[...value.matchAll(/\{\{[^}]*?\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string),
  ];
  const missing = [...new Set(named.filter((name) => !isSet(name)))];
  if (missing.length > 0) {
    throw new CompozyError('CONFIG_INVALID', `${what} needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not set.`, {
      hint: `Export ${missing[0]} or add it to the project's .env.`,
      details: { missing },
    });
  }
  const shellStyle = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] as string);
  if (!shellStyle.includes('{{')) return shellStyle;
  try {
    return templates.renderString(shellStyle, { env: { ...env } });
  } catch (error) {
    throw new CompozyError('CONFIG_INVALID', `${what}: ${(error as Error).message}`, { hint: 'Write it as {{ .env.NAME }} or ${NAME}.' });
  }
}
