import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

/** Every diagnostic of a project whose workflows are the given files, as `file:line:col key: message`. */
function problems(files: Record<string, string>): string[] {
  const sources = Object.keys(files).map((f) => `  - source: ./${f}\n`).join('');
  const dir = writeFiles({ 'compozy.yaml': `name: hooks\nworkflows:\n${sources}`, ...files });
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.key}: ${d.message}`);
}

const TASKS = 'tasks:\n  - id: a\n    type: aggregate\n    outputs: { ok: true }\n';
const hook = (webhook: string) => `id: wf\ntriggers:\n  - type: webhook\n    webhook:\n${webhook}${TASKS}`;
const EVENTS = '      events:\n        - { name: e, filter: "true", input: { a: "{{ .payload.a }}" } }\n';

describe('webhook triggers at load', () => {
  it('a complete webhook loads with its defaults: method POST, strategy none; stripe gets the 5m skew', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: hooks\nworkflows:\n  - source: ./wf.yaml\n',
      'wf.yaml': `id: wf\ntriggers:\n  - type: webhook\n    webhook:\n      slug: a\n${EVENTS}  - type: webhook\n    webhook:\n      slug: b\n      method: patch\n${EVENTS}      verify: { strategy: stripe, secret: "{{ .env.S }}" }\n${TASKS}`,
    });
    const { project, diagnostics } = loadProjectConfig(dir);
    expect(diagnostics).toEqual([]);
    expect(validateProject(project!)).toEqual([]);
    const [a, b] = project!.workflows[0]!.triggers;
    expect(a).toMatchObject({ type: 'webhook', slug: 'a', method: 'POST', verify: { strategy: 'none' }, events: [{ name: 'e', filter: 'true', input: { a: '{{ .payload.a }}' } }] });
    expect(b).toMatchObject({ slug: 'b', method: 'PATCH', verify: { strategy: 'stripe', secret: '{{ .env.S }}', skewMs: 300_000 } });
  });

  it('each strategy\'s requirements: hmac needs secret and header; header and skew belong to one strategy; none takes no secret', () => {
    expect(problems({ 'wf.yaml': hook(`      slug: a\n${EVENTS}      verify: { strategy: hmac }\n`) })).toEqual([
      'wf.yaml:8:7 triggers[0].webhook.verify.secret: verify.secret is required by strategy hmac.',
      'wf.yaml:8:7 triggers[0].webhook.verify.header: verify.header is required by strategy hmac: the request header that carries the hex HMAC-SHA256 of the body.',
    ]);
    expect(problems({ 'wf.yaml': hook(`      slug: a\n${EVENTS}      verify: { strategy: github, secret: s, header: X-Sig, skew: 1m }\n`) })).toEqual([
      'wf.yaml:8:46 triggers[0].webhook.verify.header: verify.header only applies to strategy hmac (github reads X-Hub-Signature-256).',
      'wf.yaml:8:61 triggers[0].webhook.verify.skew: verify.skew only applies to strategy stripe (the tolerance on its signed timestamp).',
    ]);
    expect(problems({ 'wf.yaml': hook(`      slug: a\n${EVENTS}      verify: { secret: s }\n`) })).toEqual([
      'wf.yaml:8:17 triggers[0].webhook.verify.secret: verify.secret is given but strategy is none, so nothing would check it.',
    ]);
    expect(problems({ 'wf.yaml': hook(`      slug: a\n${EVENTS}      verify: { strategy: stripee, secret: s }\n`) })).toEqual([
      'wf.yaml:8:17 triggers[0].webhook.verify.strategy: Unknown verify strategy "stripee".',
    ]);
  });

  it('slug, method, events, filters and inputs are checked; unknown keys are refused by name', () => {
    expect(
      problems({
        'wf.yaml': hook('      slug: "a/b"\n      method: GET\n      secret: x\n      events:\n        - { name: e, filter: "payload.a ==", input: { a: "{{ .payload.a" } }\n        - { name: e, filter: "true" }\n        - { filter: "true", input: { a: b }, dedupe: true }\n'),
      }),
    ).toEqual([
      'wf.yaml:5:7 triggers[0].webhook.slug: Webhook slug "a/b" is not URL-safe.',
      'wf.yaml:6:7 triggers[0].webhook.method: Webhook method "GET" is not one of POST, PUT, PATCH.',
      'wf.yaml:7:7 triggers[0].webhook.secret: Unknown webhook field "secret".',
      'wf.yaml:9:22 triggers[0].webhook.events[0].filter: CEL expression "payload.a ==" is invalid: Unexpected token: EOF',
      'wf.yaml:9:55 triggers[0].webhook.events[0].input.a: Template error (line 1, column 1 of the template): unclosed action',
      'wf.yaml:10:11 triggers[0].webhook.events[1]: A webhook event needs input: {key: template}.',
      'wf.yaml:10:13 triggers[0].webhook.events[1].name: Webhook event "e" is declared twice in this webhook.',
      'wf.yaml:11:11 triggers[0].webhook.events[2]: "name" is required.',
      'wf.yaml:11:46 triggers[0].webhook.events[2].dedupe: Unknown webhook event field "dedupe".',
    ]);
  });

  it('a slug may belong to one webhook in the whole project', () => {
    expect(problems({ 'one.yaml': hook(`      slug: same\n${EVENTS}`), 'two.yaml': hook(`      slug: same\n${EVENTS}`).replace('id: wf', 'id: wf2') })).toEqual([
      'two.yaml:5:7 triggers[0].webhook.slug: Webhook slug "same" is already used by workflow wf.',
    ]);
  });
});
