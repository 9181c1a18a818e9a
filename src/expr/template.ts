import { ExecError, Executor } from './exec.js';
import { FUNCTIONS } from './functions.js';
import { parseTemplate, type Node, type Operand, type Pipeline } from './parse.js';
import { positionOf, TemplateError } from './template-error.js';

/** Top-level variables Compozy always provides, so `{{ .input.x }}` fails on `x`, never on `input`. */
export const PREINJECTED_ROOTS: ReadonlySet<string> = new Set(['env', 'input', 'output', 'trigger', 'tools', 'tasks', 'agents']);

/** `{{ .a.b-c.d }}` (or `{{ . }}`) and nothing else: such a string keeps the referenced value's type. */
const SIMPLE_REFERENCE = /^\s*\{\{-?\s*(?:\.|(?:\.[A-Za-z0-9_-]+)+)\s*-?\}\}\s*$/;

export interface RenderOptions {
  /**
   * Leave a template unrendered (returned as written) when it reads `.tasks.<id>` of a task that has
   * not run yet; it is rendered again once that output exists.
   */
  deferMissingTasks?: boolean;
}

interface Parsed {
  nodes: Node[];
  simple: boolean;
}

/**
 * Go text/template rendering with Compozy's typing rules. Parsed templates are cached (bounded, least
 * recently used first out). Every failure is a TemplateError with a line and column.
 */
export class TemplateEngine {
  private readonly cache = new Map<string, Parsed>();

  constructor(private readonly cacheSize = 2000) {}

  parse(source: string): Parsed {
    const cached = this.cache.get(source);
    if (cached) {
      this.cache.delete(source);
      this.cache.set(source, cached);
      return cached;
    }
    const parsed = { nodes: guard(source, () => parseTemplate(source)), simple: SIMPLE_REFERENCE.test(source) };
    checkFunctions(source, parsed.nodes);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(source, parsed);
    }
    return parsed;
  }

  /** Executes a template to text. */
  renderString(source: string, data: Record<string, unknown>): string {
    const { nodes } = this.parse(source);
    return guard(source, () => new Executor(withDefaults(data), { optionalRoots: PREINJECTED_ROOTS }).run(nodes));
  }

  /**
   * Renders a config value: strings through the template engine with Compozy's typing (a lone
   * reference keeps its type; text that is a JSON object or array becomes structured), maps and arrays
   * recursively (keys as written), anything else unchanged.
   */
  renderValue(value: unknown, data: Record<string, unknown>, options: RenderOptions = {}): unknown {
    if (typeof value === 'string') return this.renderTyped(value, data, options);
    if (Array.isArray(value)) return value.map((item) => this.renderValue(item, data, options));
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.renderValue(item, data, options);
      return out;
    }
    return value;
  }

  private renderTyped(source: string, data: Record<string, unknown>, options: RenderOptions): unknown {
    if (!source.includes('{{')) return source;
    const parsed = this.parse(source);
    const context = withDefaults(data);
    try {
      if (parsed.simple) {
        const action = parsed.nodes.find((node) => node.kind === 'action');
        if (action?.kind === 'action') return guard(source, () => new Executor(context, { optionalRoots: PREINJECTED_ROOTS }).value(action.pipeline));
      }
      const text = guard(source, () => new Executor(context, { optionalRoots: PREINJECTED_ROOTS }).run(parsed.nodes));
      const trimmed = text.trim();
      if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        try {
          return JSON.parse(trimmed) as unknown;
        } catch {
          return text;
        }
      }
      return text;
    } catch (error) {
      if (options.deferMissingTasks && error instanceof TemplateError && error.cause instanceof ExecError && error.cause.missingTask) return source;
      throw error;
    }
  }
}

/** Unknown function names are reported when the template is parsed, not when a branch first runs. */
function checkFunctions(source: string, nodes: Node[]): void {
  const operand = (o: Operand): void => {
    if (o.kind === 'function' && !Object.hasOwn(FUNCTIONS, o.name)) {
      const { line, col } = positionOf(source, o.pos);
      throw new TemplateError(`function "${o.name}" not defined`, line, col, source);
    }
    if (o.kind === 'pipeline') pipeline(o.pipeline);
    if (o.kind === 'field' && o.base) operand(o.base);
  };
  const pipeline = (p: Pipeline): void => p.commands.forEach((command) => command.args.forEach(operand));
  const walk = (list: Node[]): void => {
    for (const node of list) {
      if (node.kind === 'action') pipeline(node.pipeline);
      if (node.kind === 'if' || node.kind === 'with' || node.kind === 'range') {
        pipeline(node.pipeline);
        walk(node.then);
        if (node.otherwise) walk(node.otherwise);
      }
    }
  };
  walk(nodes);
}

function withDefaults(data: Record<string, unknown>): Record<string, unknown> {
  return { env: {}, input: {}, output: null, trigger: {}, tools: {}, tasks: {}, agents: {}, ...data };
}

/** Runs parse or execution and turns any failure into a positioned TemplateError. */
function guard<T>(source: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    if (error instanceof ExecError) {
      const { line, col } = positionOf(source, error.pos);
      const wrapped = new TemplateError(error.reason, line, col, source);
      (wrapped as { cause?: unknown }).cause = error;
      throw wrapped;
    }
    // Anything else (a stack overflow from absurd nesting, say) is still a template failure.
    throw new TemplateError(`template failed: ${(error as Error).message ?? String(error)}`, 1, 1, source);
  }
}

export const templates = new TemplateEngine();
