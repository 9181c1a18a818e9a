/** "1 execution", "2 executions", "0 executions"; `pluralForm` for the irregular ones. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
