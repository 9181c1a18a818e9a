import { describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/expr/template-error.js';
import { TemplateEngine } from '../../src/expr/template.js';

const engine = new TemplateEngine();

const context = {
  workflow: { id: 'weather', input: { city: 'San Francisco', days: 3, tags: ['a', 'b'] }, exec_id: 'x1' },
  input: { city: 'Paris', count: 2, empty: '', zero: 0, nothing: null, flag: true, nested: { deep: { value: 42 } } },
  env: { GROQ_API_KEY: 'gsk', MODE: 'dev' },
  tasks: {
    weather: { id: 'weather', status: 'SUCCESS', output: { weather: 'Sunny', temperature: 21.5, humidity: 40 } },
    'say-hello': { id: 'say-hello', output: { message: 'hi', list: [1, 2, 3] } },
    activities: { output: { activities: ['hike', 'museum', 'picnic'] } },
    clothing: { output: { save_data: { clothing: [] } } },
    collection: {
      output: { 'analyze-activity-0': { ok: true }, 'analyze-activity-1': { ok: false } },
      children: { 'analyze-activity-0': { id: 'analyze-activity-0', status: 'SUCCESS', output: { score: 9 } } },
    },
  },
  items: [
    { name: 'b', score: 2 },
    { name: 'a', score: 7 },
  ],
  scores: { alice: 3, bob: 5 },
  text: 'Hello, World',
  csv: 'x,y,z',
  json: '{"k":[1,2]}',
  n: 7,
  f: 2.5,
  big: 1000000,
  negative: -3,
  yes: true,
  no: false,
  nil: null,
};

type Case = [template: string, expected: unknown];

const cases: Record<string, Case[]> = {
  'typed references': [
    ['{{ .workflow.input.city }}', 'San Francisco'],
    ['{{ .workflow.input.days }}', 3],
    ['{{ .workflow.input.tags }}', ['a', 'b']],
    ['{{ .workflow.input }}', { city: 'San Francisco', days: 3, tags: ['a', 'b'] }],
    ['  {{ .input.flag }}  ', true],
    ['{{- .input.count -}}', 2],
    ['{{ .input.nothing }}', null],
    ['{{ .tasks.weather.output }}', { weather: 'Sunny', temperature: 21.5, humidity: 40 }],
    ['{{ .tasks.say-hello.output.list }}', [1, 2, 3]],
    ['{{ .tasks.say-hello.output.message }}', 'hi'],
    ['{{ .input.nested.deep.value }}', 42],
    ['{{ . }}', undefined],
    ['{{ .f }}', 2.5],
    ['{{ .no }}', false],
  ],
  'stringified results': [
    ['{{ .workflow.input.days }} days', '3 days'],
    ['{{ len .tasks.activities.output.activities }}', '3'],
    ['{{ .yes }}{{ .no }}', 'truefalse'],
    ['{{ .workflow.input.tags }} x', '[a b] x'],
    ['{{ .scores }} x', 'map[alice:3 bob:5] x'],
    ['{{ .big }}', 1000000],
    ['{{ .big }}!', '1000000!'],
    ['{{ .f }}!', '2.5!'],
    ['{{ .nil }}!', '<no value>!'],
    ['{{ .input.nothing }} ', null],
    ['{{ .negative }}', -3],
    ['a {{ "b" }} c', 'a b c'],
    ['{{ 42 }}', '42'],
    ['{{ 1.5 }}', '1.5'],
    ['{{ true }}', 'true'],
    ['{{ nil }}', '<no value>'],
    ['plain text', 'plain text'],
    ['', ''],
  ],
  'JSON detection': [
    ['{{ toJson .tasks.weather.output }}', { humidity: 40, temperature: 21.5, weather: 'Sunny' }],
    ['{{ .tasks.say-hello.output.list | toJson }}', [1, 2, 3]],
    ['  {{ toJson .scores }}  ', { alice: 3, bob: 5 }],
    ['{"city": "{{ .input.city }}"}', { city: 'Paris' }],
    ['[{{ .n }}, {{ .f }}]', [7, 2.5]],
    ['{ not json {{ .n }}', '{ not json 7'],
    ['{{ .json }}', '{"k":[1,2]}'],
    ['{{ .json }} ', '{"k":[1,2]}'],
    ['x{{ .json }}', 'x{"k":[1,2]}'],
    ['{{ printf "%s" .json }}', { k: [1, 2] }],
    ['{{ "true" }}', 'true'],
    ['{{ "12" }}', '12'],
    ['{{ toPrettyJson .scores }}', { alice: 3, bob: 5 }],
    ['{{ toJson "s" }}', '"s"'],
  ],
  'if / else if / else / with / range': [
    ['{{ if .yes }}Y{{ end }}', 'Y'],
    ['{{ if .no }}Y{{ else }}N{{ end }}', 'N'],
    ['{{ if .input.empty }}A{{ else if .input.zero }}B{{ else if .input.count }}C{{ else }}D{{ end }}', 'C'],
    ['{{ if and .yes .no }}Y{{ else }}N{{ end }}', 'N'],
    ['{{ if or .no .yes }}Y{{ end }}', 'Y'],
    ['{{ if not .no }}Y{{ end }}', 'Y'],
    ['{{ if .tasks.clothing.output.save_data.clothing }}has{{ else }}none{{ end }}', 'none'],
    ['{{ with .input.nested.deep }}{{ .value }}{{ end }}', '42'],
    ['{{ with .input.empty }}x{{ else }}empty{{ end }}', 'empty'],
    ['{{ with .input.empty }}x{{ else with .input.city }}{{ . }}{{ end }}', 'Paris'],
    ['{{ range .workflow.input.tags }}<{{ . }}>{{ end }}', '<a><b>'],
    ['{{ range $i, $v := .workflow.input.tags }}{{ $i }}:{{ $v }} {{ end }}', '0:a 1:b '],
    ['{{ range $k, $v := .scores }}{{ $k }}={{ $v }};{{ end }}', 'alice=3;bob=5;'],
    ['{{ range .tasks.clothing.output.save_data.clothing }}x{{ else }}empty{{ end }}', 'empty'],
    ['{{ range $v := .items }}{{ $v.name }}{{ end }}', 'ba'],
    ['{{ range .items }}{{ .name }}={{ .score }} {{ end }}', 'b=2 a=7 '],
    ['{{ range 3 }}{{ . }}{{ end }}', '012'],
    ['{{ range .workflow.input.tags }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}', 'a'],
    ['{{ range .workflow.input.tags }}{{ if eq . "a" }}{{ continue }}{{ end }}{{ . }}{{ end }}', 'b'],
    ['{{ range .items }}{{ $.text }}|{{ end }}', 'Hello, World|Hello, World|'],
    ['{{ $x := 5 }}{{ $x }}', '5'],
    ['{{ $x := 1 }}{{ if .yes }}{{ $x = 2 }}{{ end }}{{ $x }}', '2'],
    ['{{ $c := .input.city }}{{ with .scores }}{{ $c }}{{ end }}', 'Paris'],
    ['{{ $.input.city }}', 'Paris'],
  ],
  'comparisons': [
    ['{{ eq .n 7 }}', 'true'],
    ['{{ eq .input.city "Paris" "London" }}', 'true'],
    ['{{ ne .n 7 }}', 'false'],
    ['{{ lt .n 10 }}', 'true'],
    ['{{ le .n 7 }}', 'true'],
    ['{{ gt .f 2 }}', 'true'],
    ['{{ ge .f 3 }}', 'false'],
    ['{{ lt "a" "b" }}', 'true'],
    ['{{ eq .nil nil }}', 'true'],
    ['{{ and 1 0 }}', '0'],
    ['{{ or 0 "" "x" }}', 'x'],
    ['{{ and .yes "last" }}', 'last'],
  ],
  'Go builtins': [
    ['{{ len .text }}', '12'],
    ['{{ len "héllo" }}', '6'],
    ['{{ len .scores }}', '2'],
    ['{{ index .workflow.input.tags 1 }}', 'b'],
    ['{{ index .tasks "say-hello" "output" "message" }}', 'hi'],
    ['{{ index .tasks.collection.children "analyze-activity-0" }}', 'map[id:analyze-activity-0 output:map[score:9] status:SUCCESS]'],
    ['{{ (index .items 1).name }}', 'a'],
    ['{{ index .scores "nobody" }}', '<no value>'],
    ['{{ slice .workflow.input.tags 1 }}', '[b]'],
    ['{{ print "a" 1 2 "b" }}', 'a1 2b'],
    ['{{ println "a" "b" }}', 'a b\n'],
    ['{{ printf "%s is %d" .input.city .n }}', 'Paris is 7'],
    ['{{ printf "%.2f" .f }}', '2.50'],
    ['{{ printf "%5d|%-5s|%05.1f" 42 "ab" 3.14159 }}', '   42|ab   |003.1'],
    ['{{ printf "%q %v %t %x %%" "s" .workflow.input.tags true 255 }}', '"s" [a b] true ff %'],
    ['{{ printf "%v" .scores }}', 'map[alice:3 bob:5]'],
    ['{{ printf "%d" }}', '%!d(MISSING)'],
    ['{{ html "<a>" }}', '&lt;a&gt;'],
    ['{{ js "it\'s" }}', "it\\'s"],
    ['{{ urlquery "a b&c" }}', 'a+b%26c'],
    ['{{ "quoted\\n" }}', 'quoted\n'],
    ['{{ `raw\\n` }}', 'raw\\n'],
    ['{{ 0x1F }}', '31'],
    ['{{ \'a\' }}', '97'],
  ],
  'pipelines and chains': [
    ['{{ .input.city | upper | printf "%s!" }}', 'PARIS!'],
    ['{{ .input.city | printf "%s-%s" "x" }}', 'x-Paris'],
    ['{{ (.input.city | lower) }}', 'paris'],
    ['{{ .tasks.clothing.output.save_data.clothing | empty | ternary "no_clothes" "has_clothes" }}', 'no_clothes'],
    ['{{ .tasks.activities.output.activities | empty | ternary "no" "yes" }}', 'yes'],
    ['{{ .input.empty | default "fallback" }}', 'fallback'],
    ['{{ .input.city | default "fallback" }}', 'Paris'],
    ['{{ default "d" .input.zero }}', 'd'],
    ['{{ list 1 2 3 | len }}', '3'],
  ],
  'whitespace trimming': [
    ['a  {{- "b" -}}  c', 'abc'],
    ['a\n\t{{- "b" }}\n c', 'ab\n c'],
    ['a {{ "b" -}}\n\n c', 'a bc'],
    ['{{- /* comment */ -}} x', 'x'],
    ['a {{/* comment */}} b', 'a  b'],
    ['{{ if .yes -}}\n  yes\n{{- end }}', 'yes'],
    ['{{ range .workflow.input.tags -}}\n{{ . }}\n{{- end }}', 'ab'],
  ],
  'sprig strings': [
    ['{{ upper "ab" }}', 'AB'],
    ['{{ lower "AB" }}', 'ab'],
    ['{{ title "hello world" }}', 'Hello World'],
    ['{{ untitle "Hello World" }}', 'hello world'],
    ['{{ trim "  x  " }}', 'x'],
    ['{{ trimAll "$" "$$5$" }}', '5'],
    ['{{ trimPrefix "he" "hello" }}', 'llo'],
    ['{{ trimSuffix "lo" "hello" }}', 'hel'],
    ['{{ trunc 3 "hello" }}', 'hel'],
    ['{{ abbrev 5 "hello world" }}', 'he...'],
    ['{{ contains "ell" "hello" }}', 'true'],
    ['{{ hasPrefix "he" "hello" }}', 'true'],
    ['{{ hasSuffix "x" "hello" }}', 'false'],
    ['{{ replace " " "-" "a b c" }}', 'a-b-c'],
    ['{{ repeat 3 "ab" }}', 'ababab'],
    ['{{ substr 1 3 "hello" }}', 'el'],
    ['{{ nospace "a b  c" }}', 'abc'],
    ['{{ quote "a" "b" }}', '"a" "b"'],
    ['{{ squote "a" }}', "'a'"],
    ['{{ cat "a" 1 "b" }}', 'a 1 b'],
    ['{{ indent 2 "a\\nb" }}', '  a\n  b'],
    ['{{ nindent 2 "a" }}', '\n  a'],
    ['{{ split "," .csv }}', 'map[_0:x _1:y _2:z]'],
    ['{{ (split "," .csv)._1 }}', 'y'],
    ['{{ splitList "," .csv | toJson }}', ['x', 'y', 'z']],
    ['{{ join "-" .workflow.input.tags }}', 'a-b'],
    ['{{ snakecase "HelloWorld" }}', 'hello_world'],
    ['{{ kebabcase "HelloWorld" }}', 'hello-world'],
    ['{{ camelcase "hello_world" }}', 'HelloWorld'],
    ['{{ plural "one" "many" 2 }}', 'many'],
    ['{{ toString 5 }}', '5'],
    ['{{ htmlEscape "<b>&" }}', '&lt;b&gt;&amp;'],
    ['{{ htmlAttrEscape "\\"x\\"" }}', '&#34;x&#34;'],
    ['{{ jsEscape "a\\nb" }}', 'a\\nb'],
    ['{{ regexMatch "^[a-z]+$" "abc" }}', 'true'],
    ['{{ regexFind "[0-9]+" "ab123cd45" }}', '123'],
    ['{{ regexFindAll "[0-9]+" "ab123cd45" -1 | toJson }}', ['123', '45']],
    ['{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}', '-W-xxW-'],
    ['{{ regexSplit "[,;]" "a,b;c" -1 | toJson }}', ['a', 'b', 'c']],
  ],
  'sprig defaults, JSON, encodings': [
    ['{{ empty "" }}', 'true'],
    ['{{ empty 0 }}', 'true'],
    ['{{ empty .scores }}', 'false'],
    ['{{ coalesce "" .input.zero "first" "second" }}', 'first'],
    ['{{ ternary "a" "b" true }}', 'a'],
    ['{{ fromJson .json | toJson }}', { k: [1, 2] }],
    ['{{ (fromJson .json).k }}', '[1 2]'],
    ['{{ b64enc "hello" }}', 'aGVsbG8='],
    ['{{ b64dec "aGVsbG8=" }}', 'hello'],
    ['{{ sha256sum "abc" }}', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['{{ sha1sum "abc" }}', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ['{{ len uuidv4 }}', '36'],
    ['{{ required "need city" .input.city }}', 'Paris'],
  ],
  'sprig numbers': [
    ['{{ add 1 2 3 }}', '6'],
    ['{{ add 1.9 1 }}', '2'],
    ['{{ add1 .n }}', '8'],
    ['{{ sub 10 3 }}', '7'],
    ['{{ mul 2 3 4 }}', '24'],
    ['{{ div 7 2 }}', '3'],
    ['{{ mod 7 3 }}', '1'],
    ['{{ max 3 9 2 }}', '9'],
    ['{{ min 3 9 2 }}', '2'],
    ['{{ addf 1.5 1 }}', '2.5'],
    ['{{ subf 3 0.5 }}', '2.5'],
    ['{{ mulf 1.5 2 }}', '3'],
    ['{{ divf 1 4 }}', '0.25'],
    ['{{ floor 2.7 }}', '2'],
    ['{{ ceil 2.1 }}', '3'],
    ['{{ round 2.345 2 }}', '2.35'],
    ['{{ int "42" }}', '42'],
    ['{{ int64 3.9 }}', '3'],
    ['{{ atoi "12" }}', '12'],
    ['{{ float64 "1.25" }}', '1.25'],
    ['{{ until 3 | toJson }}', [0, 1, 2]],
  ],
  'sprig lists and dicts': [
    ['{{ list 1 "a" | toJson }}', [1, 'a']],
    ['{{ first .workflow.input.tags }}', 'a'],
    ['{{ last .workflow.input.tags }}', 'b'],
    ['{{ rest (list 1 2 3) | toJson }}', [2, 3]],
    ['{{ initial (list 1 2 3) | toJson }}', [1, 2]],
    ['{{ append .workflow.input.tags "c" | toJson }}', ['a', 'b', 'c']],
    ['{{ prepend .workflow.input.tags "z" | toJson }}', ['z', 'a', 'b']],
    ['{{ concat (list 1) (list 2 3) | toJson }}', [1, 2, 3]],
    ['{{ reverse (list 1 2 3) | toJson }}', [3, 2, 1]],
    ['{{ uniq (list 1 1 2) | toJson }}', [1, 2]],
    ['{{ compact (list 1 "" 0 2) | toJson }}', [1, 2]],
    ['{{ has "a" .workflow.input.tags }}', 'true'],
    ['{{ without (list 1 2 3) 2 | toJson }}', [1, 3]],
    ['{{ sortAlpha (list "b" "a" "c") | toJson }}', ['a', 'b', 'c']],
    ['{{ toStrings (list 1 2) | toJson }}', ['1', '2']],
    ['{{ dict "a" 1 "b" "x" | toJson }}', { a: 1, b: 'x' }],
    ['{{ get .scores "bob" }}', '5'],
    ['{{ get .scores "nobody" }}', ''],
    ['{{ set .scores "carol" 1 | toJson }}', { alice: 3, bob: 5, carol: 1 }],
    ['{{ unset .scores "bob" | toJson }}', { alice: 3 }],
    ['{{ hasKey .scores "alice" }}', 'true'],
    ['{{ keys .scores | toJson }}', ['alice', 'bob']],
    ['{{ values .scores | toJson }}', [3, 5]],
    ['{{ pick .scores "bob" | toJson }}', { bob: 5 }],
    ['{{ omit .scores "bob" | toJson }}', { alice: 3 }],
    ['{{ merge (dict "a" 1) (dict "a" 2 "b" 3) | toJson }}', { a: 1, b: 3 }],
    ['{{ pluck "score" (index .items 0) (index .items 1) | toJson }}', [2, 7]],
    ['{{ deepEqual (list 1 2) (list 1 2) }}', 'true'],
    ['{{ kindOf .scores }}', 'map'],
    ['{{ kindIs "string" .text }}', 'true'],
    ['{{ typeOf .n }}', 'int'],
  ],
  dates: [
    ['{{ date "2006-01-02 15:04:05" 0 }}', '1970-01-01 00:00:00'],
    ['{{ date "Jan 2, 2006 at 3:04PM" 1700000000 }}', 'Nov 14, 2023 at 10:13PM'],
    ['{{ dateInZone "2006-01-02T15:04:05Z07:00" 1700000000 "UTC" }}', '2023-11-14T22:13:20Z'],
    ['{{ unixEpoch (toDate "2006-01-02" "2024-01-01T00:00:00Z") }}', '1704067200'],
  ],
};

describe('Go template rendering with Compozy typing', () => {
  const all = Object.entries(cases).flatMap(([group, list]) => list.map(([template, expected]) => [group, template, expected] as const));

  it('has at least 150 cases', () => {
    expect(all.length).toBeGreaterThanOrEqual(150);
  });

  it.each(all)('%s: %j', (_group, template, expected) => {
    const rendered = engine.renderValue(template, context);
    if (template === '{{ . }}') {
      expect(rendered).toMatchObject({ workflow: context.workflow, tasks: context.tasks });
      return;
    }
    expect(rendered).toEqual(expected);
  });

  it('now renders the current time in Go format, and date formats it', () => {
    expect(engine.renderValue('{{ now }}', context)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? \+0000 UTC$/);
    expect(engine.renderValue('{{ now | date "2006" }}', context)).toBe(String(new Date().getUTCFullYear()));
  });

  it('renders maps and arrays recursively, leaving keys and non-strings alone', () => {
    const config = { city: '{{ .input.city }}', count: '{{ .input.count }}', nested: [{ '{{ key }}': '{{ upper .input.city }}' }, 5, true, null], plain: 'x' };
    expect(engine.renderValue(config, context)).toEqual({ city: 'Paris', count: 2, nested: [{ '{{ key }}': 'PARIS' }, 5, true, null], plain: 'x' });
  });

  it('default cannot catch a missing key (missingkey=error), only an empty value', () => {
    expect(engine.renderValue('{{ .status | default "completed" }}', { status: '' })).toBe('completed');
    expect(engine.renderValue('{{ .status | default "completed" }}', { status: 'FAILED' })).toBe('FAILED');
    expect(() => engine.renderValue('{{ .status | default "completed" }}', {})).toThrow(/no entry for key "status"/);
  });

  it('pre-injected top-level variables exist even when the context lacks them', () => {
    expect(engine.renderValue('{{ .trigger }}|{{ .agents }}', {})).toBe('map[]|map[]');
    expect(engine.renderValue('{{ .output }}', {})).toBeNull();
    expect(() => engine.renderValue('{{ .unknown }}', {})).toThrow(TemplateError);
  });

  it('defers templates that read a task that has not run yet, only when asked', () => {
    const template = 'after {{ .tasks.later.output.x }}';
    expect(engine.renderValue(template, context, { deferMissingTasks: true })).toBe(template);
    expect(() => engine.renderValue(template, context)).toThrow(/map has no entry for key "later" \(evaluating \.tasks\.later\)/);
    expect(() => engine.renderValue('{{ .tasks.weather.output.nope }}', context, { deferMissingTasks: true })).toThrow(/no entry for key "nope"/);
  });

  it('caches parsed templates, bounded', () => {
    const small = new TemplateEngine(2);
    expect(small.parse('{{ 1 }}')).toBe(small.parse('{{ 1 }}'));
    small.parse('{{ 2 }}');
    const first = small.parse('{{ 1 }}');
    small.parse('{{ 3 }}');
    small.parse('{{ 4 }}');
    expect(small.parse('{{ 1 }}')).not.toBe(first);
  });
});

describe('template errors name the position', () => {
  const errors: Array<[string, string, number, number]> = [
    ['{{ .workflow.input.missing }}', 'map has no entry for key "missing" (evaluating .workflow.input.missing)', 1, 4],
    ['line one\n  {{ .input.nope }}', 'map has no entry for key "nope"', 2, 6],
    ['{{ .workflow.input.city', 'unclosed action', 1, 1],
    ['{{ unknownFn 1 }}', 'function "unknownFn" not defined', 1, 4],
    ['ok {{ if .yes }}{{ nope }}{{ end }}', 'function "nope" not defined', 1, 20],
    ['{{ len }}', 'wrong number of args for len: want 1 got 0', 1, 4],
    ['{{ ternary "a" "b" }}', 'wrong number of args for ternary: want 3 got 2', 1, 4],
    ['{{ .input.city | }}', 'missing value for command', 1, 18],
    ['{{ | upper }}', 'missing value for command', 1, 4],
    ['{{ if .yes }}x', 'unexpected EOF: {{if}} without {{end}}', 1, 1],
    ['x {{ end }}', 'unexpected {{end}}', 1, 3],
    ['{{ range .n }}{{ else }}', 'expected {{end}} after {{else}} of {{range}}', 1, 1],
    ['{{ break }}', '{{break}} outside {{range}}', 1, 1],
    ['{{ "unterminated }}', 'unterminated quoted string', 1, 4],
    ['{{ .input.city 1 }}', "can't give argument to non-function .input.city", 1, 4],
    ['{{ .n.x }}', "can't evaluate field x in type int (.n.x)", 1, 4],
    ['{{ .nil.x }}', 'nil pointer evaluating interface {}.x (.nil.x)', 1, 4],
    ['{{ $undefined }}', 'undefined variable: $undefined', 1, 4],
    ['{{ lt .n "a" }}', 'error calling lt: incompatible types for comparison: int and string', 1, 4],
    ['{{ index .workflow.input.tags 5 }}', 'error calling index: index out of range: 5', 1, 4],
    ['{{ div 1 0 }}', 'error calling div: integer divide by zero', 1, 4],
    ['{{ fromJson "{" }}', 'error calling fromJson: invalid JSON', 1, 4],
    ['{{ define "x" }}{{ end }}', '{{define}} is not supported in Compozy templates', 1, 1],
    ['{{ 12abc }}', 'bad number syntax', 1, 4],
    ['{{ "\\q" }}', 'unknown escape sequence \\q', 1, 4],
    ['{{ range .text }}x{{ end }}', "range can't iterate over Hello, World", 1, 1],
    ['{{ /* open', 'unclosed comment', 1, 1],
    ['{{ fail "custom failure" }}', 'error calling fail: custom failure', 1, 4],
  ];

  it.each(errors)('%j → %s at %i:%i', (template, reason, line, col) => {
    let error: unknown;
    try {
      engine.renderValue(template, context);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as TemplateError).reason).toContain(reason);
    expect([(error as TemplateError).line, (error as TemplateError).col]).toEqual([line, col]);
    expect((error as TemplateError).message).toBe(`template: ${line}:${col}: ${(error as TemplateError).reason}`);
  });
});

describe('fuzz: random templates and contexts', () => {
  /** Deterministic PRNG so a failure can be reproduced from its seed. */
  function rng(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const pieces = ['{{', '}}', '{{-', '-}}', ' ', '.', '.a', '.b.c', '$', '$x', ':=', '=', '|', '(', ')', '"s"', '`r`', "'c'", '1', '-2', '3.5', 'if', 'else', 'end', 'range', 'with', 'break', 'len', 'index', 'printf', 'upper', 'toJson', 'default', 'eq', 'and', 'nil', 'true', '/*', '*/', 'x', '\n', '"%d %s"', '{{ .a }}', '{{ range .b }}', '{{ end }}', ',', 'repeat', '99999'];

  function randomValue(next: () => number, depth: number): unknown {
    const r = next();
    if (depth > 2 || r < 0.3) return [null, 1, -2.5, 'str', true, '', 0][Math.floor(next() * 7)];
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    return Object.fromEntries(['a', 'b', 'c', 'x'].filter(() => next() < 0.6).map((k) => [k, randomValue(next, depth + 1)]));
  }

  it('never throws anything but TemplateError, and always finishes', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const next = rng(seed);
      const template = Array.from({ length: 1 + Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
      const data = { a: randomValue(next, 0), b: randomValue(next, 0) };
      try {
        engine.renderValue(template, data);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw new Error(`seed ${seed}: ${JSON.stringify(template)} threw ${String(error)}`);
      }
    }
  });
});
