import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { EXAMPLES_DIR, PACKAGE_ROOT } from '../config/project.js';
import { CompozyError } from '../errors.js';

export const TEMPLATES = ['basic', 'weather'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** Models `compozy init` can set up: the agent's model ref and the `models:` entry it needs. */
export const MODEL_PRESETS = {
  replay: { ref: 'replay:default', entry: '' },
  groq: { ref: 'groq:llama-3.3-70b-versatile', entry: '  - provider: groq\n    model: llama-3.3-70b-versatile\n    api_key: "{{ .env.GROQ_API_KEY }}"\n' },
  openai: { ref: 'openai:gpt-4o-mini', entry: '  - provider: openai\n    model: gpt-4o-mini\n    api_key: "{{ .env.OPENAI_API_KEY }}"\n' },
  anthropic: { ref: 'anthropic:claude-3-5-haiku-latest', entry: '  - provider: anthropic\n    model: claude-3-5-haiku-latest\n    api_key: "{{ .env.ANTHROPIC_API_KEY }}"\n' },
  ollama: { ref: 'ollama:llama3.2', entry: '  - provider: ollama\n    model: llama3.2\n    api_url: http://localhost:11434\n' },
} as const;
export type ModelPreset = keyof typeof MODEL_PRESETS;

export interface ScaffoldOptions {
  dir: string;
  name: string;
  template: TemplateName;
  model: ModelPreset;
  force: boolean;
}

/** npm drops `.gitignore` from published packages, so templates carry it as `gitignore`. */
function targetName(file: string): string {
  return file === 'gitignore' ? '.gitignore' : file;
}

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === '.compozy' || /^results\.(json|txt)$/.test(entry)) return [];
    return statSync(path).isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

function render(template: TemplateName, file: string, text: string, options: ScaffoldOptions): string {
  const preset = MODEL_PRESETS[options.model];
  if (template === 'weather') return file === 'compozy.yaml' ? text.replace(/^name: .*$/m, `name: ${options.name}`) : text;
  return text.replaceAll('__PROJECT_NAME__', options.name).replaceAll('__AGENT_MODEL__', preset.ref).replace('__EXTRA_MODEL__\n', preset.entry);
}

/**
 * Writes a new project from a template. Nothing is written when a file it would create already
 * exists, unless `force` (which replaces only those files and leaves every other file alone).
 */
export function scaffold(options: ScaffoldOptions): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.name)) {
    throw new CompozyError('USAGE', `"${options.name}" is not a valid project name.`, { hint: 'Use letters, digits, dots, dashes and underscores, starting with a letter or digit.' });
  }
  if (options.template === 'weather' && options.model !== 'replay') {
    throw new CompozyError('USAGE', 'The weather template chooses its own models (Groq with GROQ_API_KEY, else replay).', { hint: 'Drop --model, or use --template basic.' });
  }
  const source = options.template === 'weather' ? join(EXAMPLES_DIR, 'weather') : join(PACKAGE_ROOT, 'templates', options.template);
  const files = listFiles(source);
  const targets = files.map((file) => join(options.dir, targetName(file)));
  const existing = targets.filter((target) => existsSync(target));
  if (existing.length > 0 && !options.force) {
    throw new CompozyError('USAGE', `Nothing was written: ${existing.map((t) => relative(options.dir, t)).join(', ')} already exist(s) in ${options.dir}.`, {
      hint: 'Choose an empty directory, or pass --force to replace those files (other files are left alone).',
    });
  }
  files.forEach((file, i) => {
    const target = targets[i] as string;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, render(options.template, file, readFileSync(join(source, file), 'utf8'), options));
  });
  return targets.map((target) => relative(options.dir, target)).sort();
}
