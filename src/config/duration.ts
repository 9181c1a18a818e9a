/** Go's time.ParseDuration syntax: "300ms", "1.5h", "2h45m"; zero is not a valid timeout. */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export function isValidDuration(text: string): boolean {
  return DURATION.test(text) && /[1-9]/.test(text);
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a valid duration (see isValidDuration); throws on anything else. */
export function parseDuration(text: string): number {
  if (!isValidDuration(text)) throw new RangeError(`"${text}" is not a duration (use e.g. "30s", "5m", "1h30m").`);
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * (UNIT_MS[unit as string] ?? 0);
  return Math.round(total);
}
