/** Go's time.ParseDuration syntax: "300ms", "1.5h", "2h45m"; zero is not a valid timeout. */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export function isValidDuration(text: string): boolean {
  return DURATION.test(text) && /[1-9]/.test(text);
}
