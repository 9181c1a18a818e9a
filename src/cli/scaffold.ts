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

/** The environment variable a model preset reads its API key from, if any. */
export function apiKeyVariable(model: ModelPreset): string | undefined {
  return /\.env\.(\w+)/.exec(MODEL_PRESETS[model].entry)?.[1];
}

interface TemplateSpec {
  source: string;
  /** The workflow `compozy run` runs first, and an input it accepts. */
  workflow: string;
  input: string;
  /** Files the template's workflow writes into the project, which .gitignore keeps out of git. */
  results: string[];
}

export const TEMPLATE_SPECS: Record<TemplateName, TemplateSpec> = {
  basic: { source: join(PACKAGE_ROOT, 'templates', 'basic'), workflow: 'greet', input: '{"name":"Ada","city":"Lisbon"}', results: [] },
  weather: { source: join(EXAMPLES_DIR, 'weather'), workflow: 'weather', input: '{"city":"Lisbon"}', results: ['results.json', 'results.txt'] },
};

export interface ScaffoldOptions {
  dir: string;
  name: string;
  template: TemplateName;
  model: ModelPreset;
  force: boolean;
}

export const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkProjectName(name: string): void {
  if (!PROJECT_NAME.test(name)) {
    throw new CompozyError('USAGE', `"${name}" is not a valid project name.`, { hint: 'Use letters, digits, dots, dashes and underscores, starting with a letter or digit.' });
  }
}

/** Files every template gets from scaffold itself rather than from the template folder (npm never packs a .gitignore). */
const GENERATED = new Set(['.gitignore', 'gitignore', 'package.json', '.env']);

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === '.compozy' || entry === 'node_modules' || /^results\.(json|txt)$/.test(entry)) return [];
    if (dir === root && GENERATED.has(entry)) return [];
    return statSync(path).isDirectory() ? listFiles(root, path) : [relative(root, path)];
  });
}

function gitignoreLines(template: TemplateName): string[] {
  return ['.compozy/', '.env', 'node_modules/', ...TEMPLATE_SPECS[template].results];
}

/** The weather example picks Groq or replay at run time; a scaffold names the model that was chosen. */
function renderWeather(file: string, text: string, options: ScaffoldOptions): string {
  const preset = MODEL_PRESETS[options.model];
  if (file === 'compozy.yaml') {
    const named = text.replace(/^name: .*$/m, `name: ${options.name}`);
    const provider = preset.ref.split(':')[0] as string;
    return new RegExp(`^  - provider: ${provider}$`, 'm').test(named) ? named : named.replace(/^models:\n/m, `models:\n${preset.entry}`);
  }
  if (file === 'workflow.yaml') {
    const agentModel = /^( +)# Groq when GROQ_API_KEY is set.*\n +model: .*$/m;
    if (!agentModel.test(text)) throw new Error('the weather example no longer has the agent model line compozy init replaces');
    const ref = options.model === 'replay' ? 'replay:weather' : preset.ref;
    return text.replace(agentModel, (_line, indent: string) => `${indent}model: ${ref}`);
  }
  return text;
}

function render(file: string, text: string, options: ScaffoldOptions): string {
  if (options.template === 'weather') return renderWeather(file, text, options);
  const preset = MODEL_PRESETS[options.model];
  return text.replaceAll('__PROJECT_NAME__', options.name).replaceAll('__AGENT_MODEL__', preset.ref).replace('__EXTRA_MODEL__\n', preset.entry);
}

type Write = { file: string; conflict: boolean; contents: () => string };

/**
 * package.json says `"type": "module"`, so the TypeScript entrypoint loads as ES module whatever
 * package.json a parent folder has. One already there is kept when it says so; with --force only
 * its `type` is set.
 */
function packageJsonWrite(options: ScaffoldOptions): Write | undefined {
  const path = join(options.dir, 'package.json');
  const fresh = () => `${JSON.stringify({ name: options.name.toLowerCase(), version: '0.1.0', private: true, type: 'module' }, null, 2)}\n`;
  if (!existsSync(path)) return { file: 'package.json', conflict: false, contents: fresh };
  let existing: Record<string, unknown>;
  try {
    existing = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return { file: 'package.json', conflict: true, contents: fresh };
  }
  if (existing.type === 'module') return undefined;
  return { file: 'package.json', conflict: true, contents: () => `${JSON.stringify({ ...existing, type: 'module' }, null, 2)}\n` };
}

/** .gitignore: one already there that ignores everything needed is kept; with --force the missing lines are appended. */
function gitignoreWrite(options: ScaffoldOptions): Write | undefined {
  const path = join(options.dir, '.gitignore');
  const wanted = gitignoreLines(options.template);
  if (!existsSync(path)) return { file: '.gitignore', conflict: false, contents: () => `${wanted.join('\n')}\n` };
  const text = readFileSync(path, 'utf8');
  const present = new Set(text.split('\n').map((line) => line.trim()));
  const missing = wanted.filter((line) => !present.has(line) && !present.has(line.replace(/\/$/, '')));
  if (missing.length === 0) return undefined;
  return { file: '.gitignore', conflict: true, contents: () => `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${missing.join('\n')}\n` };
}

/**
 * Writes a new project from a template. Nothing is written when a file it would create already
 * exists, unless `force` (which replaces only those files and leaves every other file alone;
 * an existing package.json and .gitignore are amended, not replaced).
 */
export function scaffold(options: ScaffoldOptions): string[] {
  checkProjectName(options.name);
  const spec = TEMPLATE_SPECS[options.template];
  const writes: Write[] = listFiles(spec.source).map((file) => ({
    file,
    conflict: existsSync(join(options.dir, file)),
    contents: () => render(file, readFileSync(join(spec.source, file), 'utf8'), options),
  }));
  for (const write of [packageJsonWrite(options), gitignoreWrite(options)]) if (write) writes.push(write);
  const existing = writes.filter((write) => write.conflict).map((write) => write.file);
  if (existing.length > 0 && !options.force) {
    throw new CompozyError('USAGE', `Nothing was written: ${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'} in ${options.dir}.`, {
      hint: 'Choose a new folder (`compozy init <name>`), or pass --force to replace those files (other files are left alone; package.json only gets "type": "module").',
    });
  }
  const rendered = writes.map((write) => ({ file: write.file, text: write.contents() }));
  for (const { file, text } of rendered) {
    const target = join(options.dir, file);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return rendered.map((write) => write.file).sort();
}
