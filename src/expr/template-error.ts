/**
 * The only error the template engine throws: what went wrong and where (1-based line and column in
 * the template source), so config validation can point at the exact spot.
 */
export class TemplateError extends Error {
  readonly code = 'TEMPLATE_ERROR';

  constructor(
    readonly reason: string,
    readonly line: number,
    readonly col: number,
    readonly source: string,
  ) {
    super(`template: ${line}:${col}: ${reason}`);
    this.name = 'TemplateError';
  }
}

/** Position of an offset in a source string. */
export function positionOf(source: string, offset: number): { line: number; col: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, col };
}
