import { didYouMean } from '../config/read.js';


/**
 * The hint for a name that does not exist: the nearest known name, then every known name, e.g.
 * `Did you mean "weather"? Workflows: greet, weather.` (`what` is the plural noun: "workflows").
 */
export function unknownNameHint(typed: string, known: Iterable<string>, what: string): string {
  const names = [...known].sort();
  if (names.length === 0) return `There are no ${what}.`;
  const nearest = didYouMean(typed, names);
  const list = `${what.charAt(0).toUpperCase()}${what.slice(1)}: ${names.join(', ')}.`;
  return nearest === undefined ? list : `Did you mean "${nearest}"? ${list}`;
}
