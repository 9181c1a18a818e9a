/**
 * Which task states a task's templates read, found in their text so that an activity asks the store
 * for those states only instead of the whole execution. The analysis is conservative: any use of
 * `.tasks` other than a plain path to one task (`.tasks.<id>`, `$.tasks.<id>`, `index .tasks "<id>"`,
 * CEL `tasks.<id>` / `tasks["<id>"]`) means the task may read every state.
 */

/** Template actions: `{{ ... }}`. */
const ACTION = /\{\{([\s\S]*?)\}\}/g;
/** `.tasks` as a root (not a field of something else), with what follows it. */
const TEMPLATE_ROOT = /(?<![\w\])])\.tasks(?![\w-])(\.[A-Za-z0-9_][\w-]*)?/g;
const TEMPLATE_INDEX = /\bindex\s+\$?\.tasks\s+"([^"\\]+)"/g;
/** The whole context (`.` or `$` alone, e.g. `{{ toJson . }}`): it includes every task. */
const BARE_ROOT = /(?<![\w\])"'])[.$](?![\w.$-])/;
/** `tasks` as a CEL identifier, with a field or a literal index after it. */
const CEL_ROOT = /(?<![\w.$])tasks(?![\w])(?:\.([A-Za-z_]\w*)|\[\s*["']([^"'\\]+)["']\s*\])?/g;

export interface TemplatedValues {
  /** Values rendered as Go templates (strings anywhere inside, map keys included). */
  templates: readonly unknown[];
  /** CEL expressions. */
  cel: readonly string[];
}

/** The task ids the values read, sorted; undefined when they may read any task. */
export function taskReads(values: TemplatedValues): string[] | undefined {
  const ids = new Set<string>();
  let all = false;
  const template = (text: string) => {
    for (const [, action = ''] of text.matchAll(ACTION)) {
      if (BARE_ROOT.test(action)) all = true;
      const indexed = new Set<number>();
      for (const match of action.matchAll(TEMPLATE_INDEX)) {
        ids.add(match[1] as string);
        indexed.add((match.index ?? 0) + match[0].indexOf('.tasks'));
      }
      for (const match of action.matchAll(TEMPLATE_ROOT)) {
        if (indexed.has(match.index ?? -1)) continue;
        if (match[1] === undefined) all = true;
        else ids.add(match[1].slice(1));
      }
    }
  };
  const cel = (text: string) => {
    for (const match of text.matchAll(CEL_ROOT)) {
      const id = match[1] ?? match[2];
      if (id === undefined) all = true;
      else ids.add(id);
    }
  };
  const walk = (value: unknown): void => {
    if (typeof value === 'string') template(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        template(key);
        walk(item);
      }
    }
  };
  values.templates.forEach(walk);
  values.cel.forEach(cel);
  return all ? undefined : [...ids].sort();
}
