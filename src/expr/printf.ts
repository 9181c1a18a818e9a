import { formatNumber, formatValue, kindOf, toJsonValue } from './values.js';

/**
 * Go's fmt.Sprintf for the verbs templates use: %v %s %d %f %e %g %t %q %x %X %o %b %c %T %%, with
 * flags (- + 0 space), width and precision. A missing argument prints `%!v(MISSING)`, as in Go.
 */
export function formatGo(format: string, args: readonly unknown[]): string {
  let out = '';
  let next = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const match = /^([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!match) {
      out += '%!(NOVERB)';
      break;
    }
    i += match[0].length;
    const [, flags = '', widthText, precisionText, verb = 'v'] = match;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[next++];
    const precision = precisionText === undefined ? undefined : Number(precisionText);
    let text = formatVerb(verb, arg, precision, flags);
    const width = widthText === undefined ? 0 : Number(widthText);
    if (text.length < width) {
      if (flags.includes('-')) text = text.padEnd(width);
      else if (flags.includes('0') && /[dfeEgGxXob]/.test(verb)) {
        const sign = /^[-+]/.test(text) ? (text[0] as string) : '';
        text = sign + text.slice(sign.length).padStart(width - sign.length, '0');
      } else text = text.padStart(width);
    }
    out += text;
  }
  if (next < args.length) out += `%!(EXTRA ${args.slice(next).map((a) => formatValue(a, true)).join(', ')})`;
  return out;
}

function formatVerb(verb: string, arg: unknown, precision: number | undefined, flags: string): string {
  const numeric = typeof arg === 'number' ? arg : typeof arg === 'bigint' ? Number(arg) : undefined;
  const signed = (text: string) => (flags.includes('+') && !text.startsWith('-') ? `+${text}` : flags.includes(' ') && !text.startsWith('-') ? ` ${text}` : text);
  switch (verb) {
    case 'v':
      if (flags.includes('#') || flags.includes('+')) return JSON.stringify(toJsonValue(arg)) ?? 'null';
      return formatValue(arg, true);
    case 's':
      return precision === undefined ? formatValue(arg, true) : formatValue(arg, true).slice(0, precision);
    case 'q':
      return typeof arg === 'string' ? JSON.stringify(arg) : numeric !== undefined && Number.isInteger(numeric) ? `'${String.fromCodePoint(numeric)}'` : `%!q(${formatValue(arg, true)})`;
    case 't':
      return typeof arg === 'boolean' ? String(arg) : `%!t(${formatValue(arg, true)})`;
    case 'T':
      return kindOf(arg);
    case 'd':
      return numeric !== undefined && Number.isInteger(numeric) ? signed(formatNumber(numeric)) : `%!d(${formatValue(arg, true)})`;
    case 'c':
      return numeric !== undefined && Number.isInteger(numeric) ? String.fromCodePoint(numeric) : `%!c(${formatValue(arg, true)})`;
    case 'x':
    case 'X':
    case 'o':
    case 'b': {
      if (typeof arg === 'string' && (verb === 'x' || verb === 'X')) {
        const hex = Buffer.from(arg).toString('hex');
        return verb === 'X' ? hex.toUpperCase() : hex;
      }
      if (numeric === undefined || !Number.isInteger(numeric)) return `%!${verb}(${formatValue(arg, true)})`;
      const radix = verb === 'o' ? 8 : verb === 'b' ? 2 : 16;
      const text = (numeric < 0 ? '-' : '') + Math.abs(numeric).toString(radix);
      return verb === 'X' ? text.toUpperCase() : text;
    }
    case 'f':
    case 'F':
      return numeric === undefined ? `%!${verb}(${formatValue(arg, true)})` : signed(numeric.toFixed(precision ?? 6));
    case 'e':
    case 'E': {
      if (numeric === undefined) return `%!${verb}(${formatValue(arg, true)})`;
      const text = numeric.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      return signed(verb === 'E' ? text.toUpperCase() : text);
    }
    case 'g':
    case 'G':
      return numeric === undefined ? `%!${verb}(${formatValue(arg, true)})` : signed(precision === undefined ? formatNumber(numeric) : String(Number(numeric.toPrecision(precision))));
    default:
      return `%!${verb}(${formatValue(arg, true)})`;
  }
}
