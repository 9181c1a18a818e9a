/** A route option's hooks (one, several or none) as a list, for onRoute handlers that add their own. */
export function hookList<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}
