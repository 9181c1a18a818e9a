import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

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
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      const source = text.split('\n')[line - 1] ?? '';
      this.syntaxErrors.push({
        file: path,
        line,
        col,
        key: '',
        message: `${error.message.split('\n')[0]}\n  ${source}\n  ${' '.repeat(Math.max(0, col - 1))}^`,
        hint: error.code === 'DUPLICATE_KEY' ? 'Remove or rename the repeated key.' : 'Fix the YAML syntax at the caret.',
      });
    }
    this.data = this.syntaxErrors.length === 0 ? this.doc.toJS() : undefined;
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
