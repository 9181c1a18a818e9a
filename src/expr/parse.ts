import { positionOf, TemplateError } from './template-error.js';

/**
 * Parser for the Go text/template subset Compozy projects use: text, actions with pipelines,
 * variables, if / else if / else, range (with $i, $v and else), with (and else with), break,
 * continue, comments and `{{-` / `-}}` trim markers. Field names may contain hyphens
 * (`.tasks.say-hello.output`), which Go needs rewriting for; Go templates have no `-` operator, so
 * reading them directly is unambiguous.
 */

export type Operand =
  | { kind: 'dot'; pos: number }
  | { kind: 'field'; pos: number; base: Operand | undefined; names: string[] }
  | { kind: 'variable'; pos: number; name: string }
  | { kind: 'function'; pos: number; name: string }
  | { kind: 'literal'; pos: number; value: unknown }
  | { kind: 'pipeline'; pos: number; pipeline: Pipeline };

export interface Command {
  pos: number;
  args: Operand[];
}

export interface Pipeline {
  pos: number;
  /** `$x :=` / `$x =` / `$i, $v :=` */
  declare: { names: string[]; assign: boolean } | undefined;
  commands: Command[];
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pos: number; pipeline: Pipeline }
  | { kind: 'if' | 'with'; pos: number; pipeline: Pipeline; then: Node[]; otherwise: Node[] | undefined }
  | { kind: 'range'; pos: number; pipeline: Pipeline; then: Node[]; otherwise: Node[] | undefined }
  | { kind: 'break' | 'continue'; pos: number };

type Token =
  | { t: 'field'; v: string; pos: number }
  | { t: 'dot'; pos: number }
  | { t: 'var'; v: string; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: 'string'; v: string; pos: number }
  | { t: 'number'; v: number; pos: number }
  | { t: 'char'; v: number; pos: number }
  | { t: 'punct'; v: '(' | ')' | '|' | ':=' | '=' | ','; pos: number }
  | { t: 'end'; pos: number };

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const FIELD_PART = /[A-Za-z0-9_-]/;

class Parser {
  private pos = 0;
  private tokens: Token[] = [];
  private tokenIndex = 0;
  private loopDepth = 0;

  constructor(private readonly src: string) {}

  fail(reason: string, offset: number): never {
    const { line, col } = positionOf(this.src, offset);
    throw new TemplateError(reason, line, col, this.src);
  }

  parse(): Node[] {
    const { nodes, terminator } = this.parseList();
    if (terminator) this.fail(`unexpected {{${terminator.word}}}`, terminator.pos);
    return nodes;
  }

  /** Reads nodes until EOF or a control word ({{end}}, {{else …}}); returns which one ended it. */
  private parseList(): { nodes: Node[]; terminator: { word: 'end' | 'else'; pos: number; tokens: Token[] } | undefined } {
    const nodes: Node[] = [];
    for (;;) {
      const open = this.src.indexOf('{{', this.pos);
      if (open < 0) {
        this.pushText(nodes, this.src.slice(this.pos));
        this.pos = this.src.length;
        return { nodes, terminator: undefined };
      }
      let text = this.src.slice(this.pos, open);
      const trimLeft = this.src.startsWith('{{- ', open) || this.src.startsWith('{{-\t', open) || this.src.startsWith('{{-\n', open) || this.src.startsWith('{{-\r', open);
      if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
      this.pushText(nodes, text);
      const bodyStart = open + (trimLeft ? 3 : 2);
      const actionPos = open;
      if (this.src.startsWith('/*', this.skipSpaces(bodyStart))) {
        this.parseComment(this.skipSpaces(bodyStart), actionPos);
        continue;
      }
      this.tokens = this.lexAction(bodyStart, actionPos);
      this.tokenIndex = 0;
      const first = this.peek();
      if (first.t === 'ident' && (first.v === 'end' || first.v === 'else')) {
        this.tokenIndex++;
        return { nodes, terminator: { word: first.v, pos: actionPos, tokens: this.tokens.slice(this.tokenIndex) } };
      }
      nodes.push(this.parseActionBody(actionPos));
    }
  }

  private pushText(nodes: Node[], text: string): void {
    if (text.length > 0) nodes.push({ kind: 'text', text });
  }

  private skipSpaces(i: number): number {
    while (i < this.src.length && ' \t\r\n'.includes(this.src[i] as string)) i++;
    return i;
  }

  private parseComment(start: number, actionPos: number): void {
    const close = this.src.indexOf('*/', start + 2);
    if (close < 0) this.fail('unclosed comment', actionPos);
    let i = this.skipSpaces(close + 2);
    let trimRight = false;
    if (this.src.startsWith('-}}', i)) {
      trimRight = true;
      i += 3;
    } else if (this.src.startsWith('}}', i)) i += 2;
    else this.fail('comment ends before closing delimiter', actionPos);
    this.pos = trimRight ? this.skipSpaces(i) : i;
  }

  /** Tokenises one action up to `}}`, handling ` -}}` (which trims the text after it). */
  private lexAction(start: number, actionPos: number): Token[] {
    const tokens: Token[] = [];
    let i = start;
    const src = this.src;
    for (;;) {
      if (i >= src.length) this.fail('unclosed action', actionPos);
      const c = src[i] as string;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        const next = this.skipSpaces(i);
        if (src.startsWith('-}}', next)) {
          tokens.push({ t: 'end', pos: next });
          this.pos = this.skipSpaces(next + 3);
          return tokens;
        }
        i = next;
        continue;
      }
      if (src.startsWith('}}', i)) {
        tokens.push({ t: 'end', pos: i });
        this.pos = i + 2;
        return tokens;
      }
      if (c === '(' || c === ')' || c === '|' || c === ',') {
        tokens.push({ t: 'punct', v: c, pos: i });
        i++;
      } else if (src.startsWith(':=', i)) {
        tokens.push({ t: 'punct', v: ':=', pos: i });
        i += 2;
      } else if (c === '=') {
        tokens.push({ t: 'punct', v: '=', pos: i });
        i++;
      } else if (c === '"') {
        const end = this.scanQuoted(i, '"');
        tokens.push({ t: 'string', v: this.unquote(src.slice(i, end), i), pos: i });
        i = end;
      } else if (c === '`') {
        const close = src.indexOf('`', i + 1);
        if (close < 0) this.fail('unterminated raw quoted string', i);
        tokens.push({ t: 'string', v: src.slice(i + 1, close), pos: i });
        i = close + 1;
      } else if (c === "'") {
        const end = this.scanQuoted(i, "'");
        const text = this.unquote(`"${src.slice(i + 1, end - 1).replace(/"/g, '\\"')}"`, i);
        const codePoint = text.codePointAt(0);
        if (codePoint === undefined || [...text].length !== 1) this.fail(`malformed character constant: ${src.slice(i, end)}`, i);
        tokens.push({ t: 'char', v: codePoint, pos: i });
        i = end;
      } else if (c === '.') {
        if (/[0-9]/.test(src[i + 1] ?? '')) {
          i = this.lexNumber(i, tokens);
          continue;
        }
        let j = i + 1;
        while (j < src.length && FIELD_PART.test(src[j] as string)) j++;
        // A trailing '-' belongs to a trim marker, not the name: `.a -}}` vs `.a-}}`.
        if (j === i + 1) tokens.push({ t: 'dot', pos: i });
        else tokens.push({ t: 'field', v: src.slice(i + 1, j), pos: i });
        i = j;
      } else if (c === '$') {
        let j = i + 1;
        while (j < src.length && IDENT_PART.test(src[j] as string)) j++;
        tokens.push({ t: 'var', v: src.slice(i, j), pos: i });
        i = j;
      } else if (/[0-9]/.test(c) || ((c === '-' || c === '+') && /[0-9.]/.test(src[i + 1] ?? ''))) {
        i = this.lexNumber(i, tokens);
      } else if (IDENT_START.test(c)) {
        let j = i + 1;
        while (j < src.length && IDENT_PART.test(src[j] as string)) j++;
        tokens.push({ t: 'ident', v: src.slice(i, j), pos: i });
        i = j;
      } else {
        this.fail(`unexpected "${c}" in action`, i);
      }
    }
  }

  private lexNumber(i: number, tokens: Token[]): number {
    const match = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(this.src.slice(i));
    const text = match?.[0] ?? '';
    if (text === '' || text === '-' || text === '+') this.fail(`bad number syntax`, i);
    const clean = text.replace(/_/g, '');
    const sign = clean.startsWith('-') ? -1 : 1;
    const unsigned = clean.replace(/^[+-]/, '');
    let value: number;
    if (/^0[xX]/.test(unsigned)) value = Number.parseInt(unsigned.slice(2), 16);
    else if (/^0[bB]/.test(unsigned)) value = Number.parseInt(unsigned.slice(2), 2);
    else if (/^0[oO]/.test(unsigned)) value = Number.parseInt(unsigned.slice(2), 8);
    else value = Number(unsigned);
    if (!Number.isFinite(value)) this.fail(`bad number syntax: "${text}"`, i);
    const end = i + text.length;
    if (end < this.src.length && IDENT_PART.test(this.src[end] as string)) this.fail(`bad number syntax: "${this.src.slice(i, end + 1)}"`, i);
    tokens.push({ t: 'number', v: sign * value, pos: i });
    return end;
  }

  private scanQuoted(start: number, quote: string): number {
    let i = start + 1;
    while (i < this.src.length && this.src[i] !== quote) {
      if (this.src[i] === '\\') i++;
      if (this.src[i] === '\n') this.fail('unterminated quoted string', start);
      i++;
    }
    if (i >= this.src.length) this.fail('unterminated quoted string', start);
    return i + 1;
  }

  private unquote(quoted: string, pos: number): string {
    const body = quoted.slice(1, -1);
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i] as string;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = body[++i];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };
      if (e !== undefined && e in simple && !(e === '0' && /[0-7]/.test(body[i + 1] ?? ''))) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const width = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + width);
        if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) this.fail(`invalid escape \\${e}${hex}`, pos);
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += width;
      } else if (e !== undefined && /[0-7]/.test(e)) {
        const oct = body.slice(i, i + 3);
        if (!/^[0-7]{3}$/.test(oct)) this.fail(`invalid escape \\${oct}`, pos);
        out += String.fromCharCode(Number.parseInt(oct, 8));
        i += 2;
      } else this.fail(`unknown escape sequence \\${e ?? ''}`, pos);
    }
    return out;
  }

  private peek(): Token {
    return this.tokens[this.tokenIndex] as Token;
  }

  private next(): Token {
    return this.tokens[this.tokenIndex++] as Token;
  }

  private expectEnd(what: string): void {
    const token = this.next();
    if (token.t !== 'end') this.fail(`unexpected ${describe(token)} in ${what}`, token.pos);
  }

  private parseActionBody(actionPos: number): Node {
    const first = this.peek();
    if (first.t === 'ident') {
      switch (first.v) {
        case 'if':
        case 'with':
          this.tokenIndex++;
          return this.parseBranch(first.v, actionPos);
        case 'range':
          this.tokenIndex++;
          return this.parseRange(actionPos);
        case 'break':
        case 'continue':
          this.tokenIndex++;
          if (this.loopDepth === 0) this.fail(`{{${first.v}}} outside {{range}}`, actionPos);
          this.expectEnd(first.v);
          return { kind: first.v, pos: actionPos };
        case 'define':
        case 'template':
        case 'block':
          this.fail(`{{${first.v}}} is not supported in Compozy templates`, actionPos);
      }
    }
    if (first.t === 'end') this.fail('missing value for command', actionPos);
    const pipeline = this.parsePipeline('command', true);
    this.expectEnd('command');
    return { kind: 'action', pos: actionPos, pipeline };
  }

  private parseBranch(kind: 'if' | 'with', actionPos: number): Node {
    const pipeline = this.parsePipeline(kind, kind === 'with');
    this.expectEnd(kind);
    const { nodes: then, terminator } = this.parseList();
    if (!terminator) this.fail(`unexpected EOF: {{${kind}}} without {{end}}`, actionPos);
    if (terminator.word === 'end') {
      this.endTokens(terminator.tokens, 'end');
      return { kind, pos: actionPos, pipeline, then, otherwise: undefined };
    }
    const rest = terminator.tokens;
    if (rest[0]?.t === 'ident' && rest[0].v === kind) {
      // {{else if …}} / {{else with …}}: the rest of the chain is a nested branch
      this.tokens = rest;
      this.tokenIndex = 1;
      const nested = this.parseBranch(kind, terminator.pos);
      return { kind, pos: actionPos, pipeline, then, otherwise: [nested] };
    }
    this.endTokens(rest, 'else');
    const { nodes: otherwise, terminator: end } = this.parseList();
    if (!end || end.word !== 'end') this.fail(`expected {{end}} after {{else}} of {{${kind}}}`, end?.pos ?? actionPos);
    this.endTokens(end.tokens, 'end');
    return { kind, pos: actionPos, pipeline, then, otherwise };
  }

  private parseRange(actionPos: number): Node {
    const pipeline = this.parsePipeline('range', true);
    this.expectEnd('range');
    this.loopDepth++;
    const { nodes: then, terminator } = this.parseList();
    this.loopDepth--;
    if (!terminator) this.fail('unexpected EOF: {{range}} without {{end}}', actionPos);
    if (terminator.word === 'end') {
      this.endTokens(terminator.tokens, 'end');
      return { kind: 'range', pos: actionPos, pipeline, then, otherwise: undefined };
    }
    this.endTokens(terminator.tokens, 'else');
    const { nodes: otherwise, terminator: end } = this.parseList();
    if (!end || end.word !== 'end') this.fail('expected {{end}} after {{else}} of {{range}}', end?.pos ?? actionPos);
    this.endTokens(end.tokens, 'end');
    return { kind: 'range', pos: actionPos, pipeline, then, otherwise };
  }

  private endTokens(tokens: Token[], word: string): void {
    const token = tokens[0];
    if (!token || token.t !== 'end') this.fail(`unexpected ${token ? describe(token) : 'EOF'} in {{${word}}}`, token?.pos ?? 0);
  }

  private parsePipeline(context: string, allowDeclare: boolean): Pipeline {
    const pos = this.peek().pos;
    let declare: Pipeline['declare'];
    const a = this.tokens[this.tokenIndex];
    const b = this.tokens[this.tokenIndex + 1];
    const c = this.tokens[this.tokenIndex + 2];
    const d = this.tokens[this.tokenIndex + 3];
    if (a?.t === 'var' && b?.t === 'punct' && (b.v === ':=' || b.v === '=')) {
      if (!allowDeclare && context !== 'if') this.fail(`variable declaration not allowed in ${context}`, a.pos);
      declare = { names: [a.v], assign: b.v === '=' };
      this.tokenIndex += 2;
    } else if (context === 'range' && a?.t === 'var' && b?.t === 'punct' && b.v === ',' && c?.t === 'var' && d?.t === 'punct' && (d.v === ':=' || d.v === '=')) {
      declare = { names: [a.v, c.v], assign: d.v === '=' };
      this.tokenIndex += 4;
    }
    const commands: Command[] = [];
    for (;;) {
      commands.push(this.parseCommand(context));
      const token = this.peek();
      if (token.t === 'punct' && token.v === '|') {
        this.tokenIndex++;
        continue;
      }
      break;
    }
    return { pos, declare, commands };
  }

  private parseCommand(context: string): Command {
    const pos = this.peek().pos;
    const args: Operand[] = [];
    for (;;) {
      const token = this.peek();
      if (token.t === 'end' || (token.t === 'punct' && (token.v === '|' || token.v === ')'))) break;
      args.push(this.parseOperand());
    }
    if (args.length === 0) this.fail(`missing value for ${context}`, pos);
    return { pos, args };
  }

  private parseOperand(): Operand {
    const token = this.next();
    let operand: Operand;
    switch (token.t) {
      case 'dot':
        operand = { kind: 'dot', pos: token.pos };
        break;
      case 'field':
        operand = { kind: 'field', pos: token.pos, base: undefined, names: token.v.split('.').filter(Boolean) };
        break;
      case 'var':
        operand = { kind: 'variable', pos: token.pos, name: token.v };
        break;
      case 'string':
        operand = { kind: 'literal', pos: token.pos, value: token.v };
        break;
      case 'number':
      case 'char':
        operand = { kind: 'literal', pos: token.pos, value: token.v };
        break;
      case 'ident':
        if (token.v === 'true' || token.v === 'false') operand = { kind: 'literal', pos: token.pos, value: token.v === 'true' };
        else if (token.v === 'nil') operand = { kind: 'literal', pos: token.pos, value: null };
        else operand = { kind: 'function', pos: token.pos, name: token.v };
        break;
      case 'punct':
        if (token.v !== '(') this.fail(`unexpected "${token.v}" in operand`, token.pos);
        {
          const pipeline = this.parsePipeline('parenthesized pipeline', false);
          const close = this.next();
          if (close.t !== 'punct' || close.v !== ')') this.fail(`unclosed left paren`, token.pos);
          operand = { kind: 'pipeline', pos: token.pos, pipeline };
        }
        break;
      default:
        this.fail(`unexpected ${describe(token)}`, token.pos);
    }
    // Field chains on any operand: $x.a.b, (index .m "k").name
    const names: string[] = [];
    while (this.peek().t === 'field' && this.peek().pos === this.previousTokenEnd()) {
      const field = this.next() as { t: 'field'; v: string; pos: number };
      names.push(...field.v.split('.').filter(Boolean));
    }
    if (names.length > 0) {
      if (operand.kind === 'literal' || operand.kind === 'function') this.fail(`unexpected field access on ${operand.kind === 'function' ? operand.name : 'a constant'}`, operand.pos);
      operand = operand.kind === 'field' ? { ...operand, names: [...operand.names, ...names] } : { kind: 'field', pos: operand.pos, base: operand, names };
    }
    return operand;
  }

  /** Where the previous token ends: a chained field must follow it with no space in between. */
  private previousTokenEnd(): number {
    const previous = this.tokens[this.tokenIndex - 1] as Token;
    if (previous.t === 'var') return previous.pos + previous.v.length;
    if (previous.t === 'field') return previous.pos + previous.v.length + 1;
    if (previous.t === 'punct') return previous.pos + previous.v.length;
    return -1;
  }
}

function describe(token: Token): string {
  switch (token.t) {
    case 'end':
      return '"}}"';
    case 'punct':
      return `"${token.v}"`;
    case 'string':
      return `quoted string`;
    case 'number':
    case 'char':
      return `number ${token.v}`;
    case 'dot':
      return '"."';
    case 'field':
      return `field .${token.v}`;
    default:
      return `"${token.v}"`;
  }
}

export function parseTemplate(source: string): Node[] {
  return new Parser(source).parse();
}
