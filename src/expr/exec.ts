import { FUNCTIONS, type TemplateFunction } from './functions.js';
import type { Command, Node, Operand, Pipeline } from './parse.js';
import { formatValue, isMap, kindOf, truth, typeName } from './values.js';

/** A failure while executing, at an offset in the source; the renderer turns it into a TemplateError. */
export class ExecError extends Error {
  constructor(
    readonly reason: string,
    readonly pos: number,
    /** Set when a `.tasks.<id>` path is missing: rendering may be deferred until that task ran. */
    readonly missingTask = false,
  ) {
    super(reason);
  }
}

class Break {}
class Continue {}

const MAX_RANGE_ITERATIONS = 1_000_000;

interface Scope {
  vars: Map<string, unknown>;
  parent: Scope | undefined;
}

export interface ExecOptions {
  /** Top-level keys that read as nil when absent instead of failing (Compozy pre-injects them). */
  optionalRoots?: ReadonlySet<string>;
  functions?: Readonly<Record<string, TemplateFunction>>;
  /** Output size bound, so a template cannot grow without limit. */
  maxOutputBytes?: number;
}

/** Executes parsed nodes against data with Go's missingkey=error semantics. */
export class Executor {
  private out: string[] = [];
  private size = 0;
  private readonly functions: Readonly<Record<string, TemplateFunction>>;
  private readonly maxOutput: number;

  constructor(
    private readonly root: unknown,
    private readonly options: ExecOptions = {},
  ) {
    this.functions = options.functions ?? FUNCTIONS;
    this.maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;
  }

  run(nodes: Node[]): string {
    const scope: Scope = { vars: new Map([['$', this.root]]), parent: undefined };
    this.walk(nodes, this.root, scope);
    return this.out.join('');
  }

  /** The value of a pipeline, for typed rendering of `{{ .a.b }}`-style strings. */
  value(pipeline: Pipeline): unknown {
    const scope: Scope = { vars: new Map([['$', this.root]]), parent: undefined };
    return this.evalPipeline(pipeline, this.root, scope);
  }

  private write(text: string, pos: number): void {
    this.size += text.length;
    if (this.size > this.maxOutput) throw new ExecError(`output exceeds ${this.maxOutput} bytes`, pos);
    this.out.push(text);
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          this.write(node.text, 0);
          break;
        case 'action': {
          const value = this.evalPipeline(node.pipeline, dot, scope);
          if (!node.pipeline.declare) this.write(formatValue(value), node.pos);
          break;
        }
        case 'if': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const value = this.evalPipeline(node.pipeline, dot, inner);
          if (truth(value)) this.walk(node.then, dot, inner);
          else if (node.otherwise) this.walk(node.otherwise, dot, inner);
          break;
        }
        case 'with': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const value = this.evalPipeline(node.pipeline, dot, inner);
          if (truth(value)) this.walk(node.then, value, inner);
          else if (node.otherwise) this.walk(node.otherwise, dot, inner);
          break;
        }
        case 'range':
          this.range(node, dot, scope);
          break;
        case 'break':
          throw new Break();
        case 'continue':
          throw new Continue();
      }
    }
  }

  private range(node: Extract<Node, { kind: 'range' }>, dot: unknown, scope: Scope): void {
    const pipeline: Pipeline = { ...node.pipeline, declare: undefined };
    const value = this.evalPipeline(pipeline, dot, scope);
    const names = node.pipeline.declare?.names ?? [];
    let entries: Array<[unknown, unknown]>;
    switch (kindOf(value)) {
      case 'slice':
        entries = (value as unknown[]).map((item, index) => [index, item]);
        break;
      case 'map':
        entries = Object.keys(value as object)
          .sort()
          .map((key) => [key, (value as Record<string, unknown>)[key]]);
        break;
      case 'number': {
        const count = Number(value);
        if (!Number.isInteger(count)) throw new ExecError(`range can't iterate over ${formatValue(value)}`, node.pos);
        if (count > MAX_RANGE_ITERATIONS) throw new ExecError(`range over ${count} exceeds ${MAX_RANGE_ITERATIONS} iterations`, node.pos);
        entries = Array.from({ length: Math.max(0, count) }, (_, i) => [i, i]);
        break;
      }
      case 'nil':
        entries = [];
        break;
      default:
        throw new ExecError(`range can't iterate over ${formatValue(value)}`, node.pos);
    }
    if (entries.length === 0) {
      if (node.otherwise) this.walk(node.otherwise, dot, scope);
      return;
    }
    for (const [key, item] of entries) {
      const inner: Scope = { vars: new Map(), parent: scope };
      if (names.length === 1) inner.vars.set(names[0] as string, item);
      if (names.length === 2) {
        inner.vars.set(names[0] as string, key);
        inner.vars.set(names[1] as string, item);
      }
      try {
        this.walk(node.then, item, inner);
      } catch (signal) {
        if (signal instanceof Break) break;
        if (signal instanceof Continue) continue;
        throw signal;
      }
    }
  }

  private lookupVar(name: string, scope: Scope, pos: number): unknown {
    for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    throw new ExecError(`undefined variable: ${name}`, pos);
  }

  private assignVar(name: string, value: unknown, scope: Scope, pos: number): void {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.vars.has(name)) {
        s.vars.set(name, value);
        return;
      }
    }
    throw new ExecError(`undefined variable: ${name}`, pos);
  }

  private evalPipeline(pipeline: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown = undefined;
    let hasFinal = false;
    for (const command of pipeline.commands) {
      value = this.evalCommand(command, dot, scope, hasFinal ? { value } : undefined);
      hasFinal = true;
    }
    if (pipeline.declare) {
      for (const name of pipeline.declare.names) {
        if (pipeline.declare.assign) this.assignVar(name, value, scope, pipeline.pos);
        else scope.vars.set(name, value);
      }
    }
    return value;
  }

  private evalCommand(command: Command, dot: unknown, scope: Scope, final: { value: unknown } | undefined): unknown {
    const [first, ...rest] = command.args as [Operand, ...Operand[]];
    if (first.kind === 'function') return this.call(first.name, rest, dot, scope, final, first.pos);
    if (rest.length > 0 || final) {
      const what = first.kind === 'field' ? `.${first.names.join('.')}` : first.kind === 'literal' ? formatValue(first.value) : first.kind === 'variable' ? first.name : 'value';
      throw new ExecError(`can't give argument to non-function ${what}`, command.pos);
    }
    return this.evalOperand(first, dot, scope);
  }

  private call(name: string, argOperands: Operand[], dot: unknown, scope: Scope, final: { value: unknown } | undefined, pos: number): unknown {
    const fn = this.functions[name];
    if (!fn) throw new ExecError(`function "${name}" not defined`, pos);
    // and/or evaluate lazily, as Go does since 1.18.
    if (name === 'and' || name === 'or') {
      const count = argOperands.length + (final ? 1 : 0);
      if (count < 1) throw new ExecError(`wrong number of args for ${name}: want at least 1 got 0`, pos);
      let value: unknown;
      for (let i = 0; i < count; i++) {
        value = i < argOperands.length ? this.evalArg(argOperands[i] as Operand, dot, scope) : final?.value;
        if (truth(value) === (name === 'or')) return value;
      }
      return value;
    }
    const args = argOperands.map((operand) => this.evalArg(operand, dot, scope));
    if (final) args.push(final.value);
    const [min, max] = fn.arity;
    if (args.length < min || (max !== undefined && args.length > max)) {
      const want = max === undefined ? `at least ${min}` : min === max ? String(min) : `${min} to ${max}`;
      throw new ExecError(`wrong number of args for ${name}: want ${want} got ${args.length}`, pos);
    }
    try {
      return fn.call(args);
    } catch (error) {
      if (error instanceof ExecError) throw error;
      throw new ExecError(`error calling ${name}: ${(error as Error).message}`, pos);
    }
  }

  private evalArg(operand: Operand, dot: unknown, scope: Scope): unknown {
    if (operand.kind === 'function') return this.call(operand.name, [], dot, scope, undefined, operand.pos);
    return this.evalOperand(operand, dot, scope);
  }

  private evalOperand(operand: Operand, dot: unknown, scope: Scope): unknown {
    switch (operand.kind) {
      case 'dot':
        return dot;
      case 'literal':
        return operand.value;
      case 'variable':
        return this.lookupVar(operand.name, scope, operand.pos);
      case 'pipeline':
        return this.evalPipeline(operand.pipeline, dot, { vars: new Map(), parent: scope });
      case 'function':
        return this.call(operand.name, [], dot, scope, undefined, operand.pos);
      case 'field': {
        const fromRoot = operand.base === undefined ? dot === this.root : operand.base.kind === 'variable' && operand.base.name === '$';
        const base = operand.base === undefined ? dot : this.evalOperand(operand.base, dot, scope);
        return this.walkFields(base, operand.names, operand.pos, fromRoot);
      }
    }
  }

  private walkFields(start: unknown, names: string[], pos: number, fromRoot: boolean): unknown {
    let value = start;
    names.forEach((name, depth) => {
      const path = `.${names.slice(0, depth + 1).join('.')}`;
      if (isMap(value)) {
        if (Object.hasOwn(value, name)) {
          value = value[name];
          return;
        }
        if (fromRoot && depth === 0 && this.options.optionalRoots?.has(name)) {
          value = undefined;
          return;
        }
        const missingTask = fromRoot && names[0] === 'tasks' && depth === 1;
        throw new ExecError(`map has no entry for key "${name}" (evaluating ${path})`, pos, missingTask);
      }
      if (value === null || value === undefined) throw new ExecError(`nil pointer evaluating interface {}.${name} (${path})`, pos);
      throw new ExecError(`can't evaluate field ${name} in type ${typeName(value)} (${path})`, pos);
    });
    return value;
  }
}
