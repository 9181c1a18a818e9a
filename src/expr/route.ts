import { CompozyError } from '../errors.js';
import { evaluateCel } from './cel.js';
import { templates, type TemplateEngine } from './template.js';
import { formatValue } from './values.js';

function asKey(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = (typeof value === 'string' ? value : formatValue(value, true)).trim();
  return text === '' ? undefined : text;
}

/**
 * A router's choice: the condition is rendered as a template first; a result that names a route is
 * taken as is (the older template-key routers, e.g. weather's `... | ternary "no_clothes" "has_clothes"`),
 * anything else is evaluated as CEL over the same variables (`condition: 'workflow.input.action'`).
 */
export function chooseRoute(condition: string, routes: Readonly<Record<string, unknown>>, variables: Readonly<Record<string, unknown>>, engine: TemplateEngine = templates): string {
  const rendered = engine.renderValue(condition, variables as Record<string, unknown>);
  const direct = asKey(rendered);
  if (direct !== undefined && Object.hasOwn(routes, direct)) return direct;
  const expression = typeof rendered === 'string' ? rendered : condition;
  let key: string | undefined;
  try {
    key = asKey(evaluateCel(expression, variables));
  } catch (error) {
    // A template condition that rendered to an unknown key is a missing route, not bad CEL.
    if (!condition.includes('{{') || direct === undefined) throw error;
    key = direct;
  }
  if (key === undefined) {
    throw new CompozyError('ROUTE_NOT_FOUND', `router condition "${condition}" produced no value.`, { hint: 'Make the condition yield one of the route keys.' });
  }
  if (!Object.hasOwn(routes, key)) {
    throw new CompozyError('ROUTE_NOT_FOUND', `no route found for condition result '${key}'. Available routes: [${Object.keys(routes).sort().join(' ')}]`, {
      hint: 'Add a route for that value, or change the condition.',
    });
  }
  return key;
}
