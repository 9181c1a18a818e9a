import { describe, expect, it } from 'vitest';
import { CompozyError } from '../../src/errors.js';
import { evaluateCel, evaluateCondition } from '../../src/expr/cel.js';
import { chooseRoute } from '../../src/expr/route.js';

const vars = {
  item: { score: 7, name: 'museum', tags: ['indoor', 'art'], price: 12.5 },
  index: 2,
  signal: { payload: { status: 'ready', count: 3 }, metadata: { signal_id: 's1' } },
  processor: { output: { ok: true }, error: null },
  workflow: { id: 'wf', input: { action: 'read', user: { age: 30 } }, status: 'RUNNING' },
  task: { id: 'router', status: 'RUNNING' },
  tasks: { clothing: { output: { save_data: { clothing: [] } } } },
};

function code(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof CompozyError ? error.code : 'untyped';
  }
  return undefined;
}

describe('CEL', () => {
  it.each([
    ['item.score > 5', true],
    ['item.score > 5.5', true],
    ['index % 2 == 0', true],
    ['item.price >= 12.5', true],
    ['item.name == "museum" && index < 3', true],
    ['"art" in item.tags', true],
    ['item.tags.exists(t, t == "indoor")', true],
    ['item.tags.all(t, size(t) > 2)', true],
    ['size(item.tags)', 2],
    ['item.tags.map(t, t + "!")', ['indoor!', 'art!']],
    ['item.tags.filter(t, t.startsWith("a"))', ['art']],
    ['signal.payload.status == "ready"', true],
    ['signal.payload.count * 2', 6],
    ['processor.output.ok && processor.error == null', true],
    ['workflow.input.action', 'read'],
    ['workflow.input.user.age >= 18 ? "adult" : "minor"', 'adult'],
    ['has(item.missing)', false],
    ['has(item.score)', true],
    ['string(index) + "x"', '2x'],
    ['int(item.price)', 12],
    ['double(index) / 4.0', 0.5],
    ['{"a": index}', { a: 2 }],
    ['item.name.matches("^mu")', true],
    ['task.id == "router" || false', true],
  ] as const)('%s → %j', (expression, expected) => {
    expect(evaluateCel(expression, vars)).toEqual(expected);
  });

  it('conditions must be booleans', () => {
    expect(evaluateCondition('item.score > 5', vars)).toBe(true);
    expect(code(() => evaluateCondition('item.score', vars))).toBe('CEL_FAILED');
  });

  it('syntax errors and evaluation errors are typed and name the expression', () => {
    expect(code(() => evaluateCel('item.score >', vars))).toBe('CEL_INVALID');
    expect(code(() => evaluateCel('item.nope == 1', vars))).toBe('CEL_FAILED');
    expect(code(() => evaluateCel('unknown_var', vars))).toBe('CEL_FAILED');
    expect(code(() => evaluateCel('item.score + item.price', vars))).toBe('CEL_FAILED');
    try {
      evaluateCel('item.nope == 1', vars);
    } catch (error) {
      expect((error as CompozyError).message).toContain('"item.nope == 1"');
      expect((error as CompozyError).hint).toContain('item, processor, signal, task, tasks, workflow');
    }
  });
});

describe('router choice', () => {
  const routes = { has_clothes: 'save_results', no_clothes: 'no_results' };

  it('takes a rendered template that names a route (weather)', () => {
    expect(chooseRoute('{{ .tasks.clothing.output.save_data.clothing | empty | ternary "no_clothes" "has_clothes" }}', routes, vars)).toBe('no_clothes');
  });

  it('evaluates anything else as CEL (memory example)', () => {
    expect(chooseRoute('workflow.input.action', { read: 'r', write: 'w' }, vars)).toBe('read');
    expect(chooseRoute('item.score > 5 ? "has_clothes" : "no_clothes"', routes, vars)).toBe('has_clothes');
    expect(chooseRoute('"{{ .workflow.input.action }}" == "read"', { true: 'yes', false: 'no' }, vars)).toBe('true');
  });

  it('a result with no route lists the available routes', () => {
    try {
      chooseRoute('"other"', routes, vars);
      expect.unreachable();
    } catch (error) {
      expect((error as CompozyError).code).toBe('ROUTE_NOT_FOUND');
      expect((error as CompozyError).message).toBe("no route found for condition result 'other'. Available routes: [has_clothes no_clothes]");
    }
    expect(code(() => chooseRoute('{{ "mystery" }}', routes, vars))).toBe('ROUTE_NOT_FOUND');
    expect(code(() => chooseRoute('null', routes, vars))).toBe('ROUTE_NOT_FOUND');
  });
});
