import { readFileSync } from 'node:fs';
import { CST, isMap, isPair, isScalar, isSeq, LineCounter, Parser, parseDocument, visit, type Document, type Node } from 'yaml';

export type YamlPath = ReadonlyArray<string | number>;

export interface Position {
  file: string;
  line: number;
  col: number;
}

/** One problem in the configuration, pointing at the key it is about. */
export interface ConfigDiagnostic extends Position {
  /** Dotted path of the offending key, e.g. `tasks[2].on_success.next`. */
  key: string;
  message: string;
  hint?: string;
}

export function formatPath(path: YamlPath): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/**
 * A parsed YAML file that can say where any key or value is, so every diagnostic names
 * `file:line:col`. Syntax errors become diagnostics with the line and a caret.
 */
export class YamlFile {
  readonly data: unknown;
  readonly syntaxErrors: ConfigDiagnostic[] = [];
  private readonly doc: Document;
  private readonly lines: LineCounter;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    let reportedDepth = false;
    for (const error of this.doc.errors) {
      const unclosed = error.code === 'MISSING_CHAR' && /quote/.test(error.message) ? this.openingQuote(error.pos[0]) : undefined;
      if (unclosed !== undefined) {
        const quote = text[unclosed] === "'" ? "'" : '"';
        this.syntaxErrors.push(this.syntaxError(unclosed, `The ${quote === '"' ? 'double' : 'single'}-quoted string that opens here is never closed`, `Add the closing ${quote}, or escape a ${quote} inside the string (${quote === '"' ? '\\"' : "''"}).`));
      } else {
        const tooDeep = /Maximum call stack/.test(error.message);
        // The parser reports the overflow once per level it unwinds; one diagnostic says it.
        if (tooDeep && reportedDepth) continue;
        reportedDepth ||= tooDeep;
        const message = tooDeep ? 'The YAML is nested too deeply for compozy to read' : (error.message.split('\n')[0] ?? error.message);
        this.syntaxErrors.push(this.syntaxError(error.pos[0], message, error.code === 'DUPLICATE_KEY' ? 'Remove or rename the repeated key.' : tooDeep ? 'Flatten the structure.' : 'Fix the YAML syntax at the caret.'));
      }
    }
    this.data = this.syntaxErrors.length === 0 ? this.toJS() : undefined;
  }

  private syntaxError(offset: number, message: string, hint: string): ConfigDiagnostic {
    const { line, col } = this.lines.linePos(offset);
    // A window of a very long line (minified or generated YAML), so the caret stays readable.
    const full = this.text.split('\n')[line - 1] ?? '';
    const start = full.length > 160 ? Math.max(0, col - 80) : 0;
    const source = `${start > 0 ? '…' : ''}${full.slice(start, start + 160)}${start + 160 < full.length ? '…' : ''}`;
    const caret = col - 1 - start + (start > 0 ? 1 : 0);
    return { file: this.path, line, col, key: '', message: `${message}\n  ${source}\n  ${' '.repeat(Math.max(0, caret))}^`, hint };
  }

  /**
   * The parser reports an unclosed quote where the file ends; the quoted scalar that runs up to that
   * point starts at the opening quote, which is where the user has to look.
   */
  private openingQuote(errorOffset: number): number | undefined {
    let found: number | undefined;
    for (const token of new Parser().parse(this.text)) {
      if (token.type !== 'document') continue;
      CST.visit(token, ({ key, value }) => {
        for (const scalar of [key, value]) {
          if ((scalar?.type === 'double-quoted-scalar' || scalar?.type === 'single-quoted-scalar') && scalar.offset + scalar.source.length === errorOffset) found = scalar.offset;
        }
      });
    }
    return found;
  }

  /** Aliases that expand past the parser's limit (a "billion laughs" file) are refused as a diagnostic, not a crash. */
  private toJS(): unknown {
    try {
      return this.doc.toJS();
    } catch (error) {
      let firstAlias: number | undefined;
      visit(this.doc, {
        Alias(_, node) {
          firstAlias ??= node.range?.[0];
          return visit.BREAK;
        },
      });
      const excessive = /alias/i.test((error as Error).message);
      this.syntaxErrors.push(
        this.syntaxError(
          firstAlias ?? 0,
          excessive ? `The file's aliases (*name) expand to more nodes than compozy reads (a YAML alias bomb); it is refused` : `The YAML cannot be read: ${(error as Error).message}`,
          excessive ? 'Write the repeated values out, or use fewer nested aliases.' : 'Fix the YAML at the caret.',
        ),
      );
      return undefined;
    }
  }

  static read(path: string): YamlFile {
    return new YamlFile(path, readFileSync(path, 'utf8'));
  }

  /** Position of the key at `path` (or of the value, for list items); the file start when absent. */
  at(path: YamlPath): Position {
    let node: unknown = this.doc.contents;
    let offset = 0;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === part);
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part] as Node | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    const { line, col } = this.lines.linePos(offset);
    return { file: this.path, line, col };
  }

  diagnostic(path: YamlPath, message: string, hint?: string): ConfigDiagnostic {
    return { ...this.at(path), key: formatPath(path), message, ...(hint ? { hint } : {}) };
  }
}
