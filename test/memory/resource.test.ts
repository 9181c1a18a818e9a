import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { projectMemories } from '../../src/config/memory-resource.js';
import { validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';
import { memory, parseMemory } from './resource-helper.js';

const FULL = `resource: memory
id: conversation_memory
description: Conversation history with summaries
version: 1.0.0
key: "chat:{{ .workflow.input.user_id }}"
type: token_based
max_tokens: 4000
max_messages: 100
max_context_ratio: 0.5
token_allocation:
  short_term: 0.6
  long_term: 0.3
  system: 0.1
flushing:
  type: hybrid_summary
  summarize_threshold: 0.75
  summary_tokens: 500
  summarize_oldest_percent: 0.4
persistence:
  type: redis
  ttl: 7d
  circuit_breaker: { enabled: true, max_failures: 3, reset_timeout: 45s }
privacy_policy:
  redact_patterns: ["\\\\b\\\\d{3}-\\\\d{2}-\\\\d{4}\\\\b"]
  non_persistable_message_types: [tool]
  default_redaction_string: "***"
locking:
  clear_ttl: 20s
  flush_ttl: 2m
token_provider:
  provider: openai
  model: gpt-4o
`;

/** `line:col message` of each diagnostic, for compact assertions. */
function problems(yaml: string): string[] {
  return parseMemory(yaml).diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
}

describe('memory resource config (reference §5.1)', () => {
  it('reads every field, with durations in ms and the encoding of the token_provider model', () => {
    const { memory: parsed, diagnostics } = parseMemory(FULL);
    expect(diagnostics).toEqual([]);
    expect(parsed).toMatchObject({
      id: 'conversation_memory', description: 'Conversation history with summaries', version: '1.0.0', key: 'chat:{{ .workflow.input.user_id }}',
      type: 'token_based', maxTokens: 4000, maxMessages: 100, maxContextRatio: 0.5,
      tokenAllocation: { shortTerm: 0.6, longTerm: 0.3, system: 0.1 },
      flushing: { type: 'hybrid_summary', summarizeThreshold: 0.75, summaryTokens: 500, summarizeOldestPercent: 0.4 },
      evictionPolicy: { type: 'fifo', priorityKeywords: [] },
      persistence: { type: 'redis', ttlMs: 7 * 86_400_000, circuitBreaker: { enabled: true, maxFailures: 3, resetTimeoutMs: 45_000 } },
      privacyPolicy: { redactPatterns: ['\\b\\d{3}-\\d{2}-\\d{4}\\b'], nonPersistableMessageTypes: ['tool'], defaultRedactionString: '***' },
      locking: { clearTtlMs: 20_000, flushTtlMs: 120_000 },
      tokenProvider: { provider: 'openai', model: 'gpt-4o', encoding: 'o200k_base', contextWindow: 128_000 },
    });
  });

  it('defaults: simple_fifo at 0.8, fifo eviction, [REDACTED], clear 10 s and flush 5 min locks', () => {
    expect(memory('id: m\ntype: message_count_based\nmax_messages: 10\npersistence: { type: in_memory }\n')).toMatchObject({
      flushing: { type: 'simple_fifo', summarizeThreshold: 0.8, summarizeOldestPercent: 0.3 },
      evictionPolicy: { type: 'fifo', priorityKeywords: [] },
      persistence: { type: 'in_memory' },
      privacyPolicy: { redactPatterns: [], nonPersistableMessageTypes: [], defaultRedactionString: '[REDACTED]' },
      locking: { clearTtlMs: 10_000, flushTtlMs: 300_000 },
    });
    expect(memory('id: m\ntype: token_based\nmax_tokens: 10\npersistence: { type: redis, ttl: 168h }\ntoken_provider: { provider: openai, model: cl100k_base }\n').tokenProvider).toEqual({ provider: 'openai', model: 'cl100k_base', encoding: 'cl100k_base' });
  });

  it('each bad value is a diagnostic at its key', () => {
    expect(problems('resource: memory\nid: "bad id"\ntype: vector\npersistence: { type: disk }\n')).toEqual([
      '2:1 Memory id "bad id" must be 1 to 100 letters, digits, "_" or "-".',
      '3:1 Unknown memory type "vector".',
      '4:16 Unknown persistence type "disk".',
    ]);
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_tokens: -5\nmax_messages: 2.5\nmax_context_ratio: 1.5\npersistence: { type: redis, ttl: soon }\ntokens: 3\n')).toEqual([
      '8:1 Unknown memory field "tokens".',
      '4:1 "max_tokens" must be a whole number of at least 1, not -5.',
      '5:1 "max_messages" must be a whole number of at least 1, not 2.5.',
      '6:1 "max_context_ratio" must be greater than 0 and at most 1, not 1.5.',
      '7:29 "soon" is not a valid duration.',
    ]);
  });

  it('token_allocation.user_defined is refused at its key: no message belongs to a user-defined share (Compozy sums it and applies it nowhere)', () => {
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_tokens: 10\ntoken_allocation:\n  short_term: 0.6\n  long_term: 0.3\n  user_defined: { notes: 0.1 }\npersistence: { type: redis, ttl: 1h }\n')).toEqual([
      '8:3 token_allocation.user_defined is not supported: no stored message belongs to a user-defined share, so the history could never use it.',
    ]);
  });

  it('token_allocation must sum to 1; limits the type needs; ttl needed unless in_memory', () => {
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_tokens: 10\ntoken_allocation: { short_term: 0.5, long_term: 0.3 }\npersistence: { type: redis, ttl: 1h }\n')).toEqual([
      '5:1 The token_allocation parts sum to 0.8; they must sum to 1.',
    ]);
    expect(problems('resource: memory\nid: m\ntype: message_count_based\npersistence: { type: redis }\n')).toEqual([
      '4:1 persistence.ttl is required for persistence type redis.',
      '3:1 message_count_based memory needs max_messages.',
    ]);
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_tokens: 5\n')).toEqual(['1:1 A memory needs persistence: {type: redis, ttl: 24h} (or type: in_memory).']);
  });

  it('a field that would have no effect is refused by name', () => {
    const base = 'resource: memory\nid: m\ntype: token_based\nmax_tokens: 100\npersistence: { type: redis, ttl: 1h }\n';
    const says = (extra: string) => problems(base + extra).join('\n');
    expect(says('locking: { append_ttl: 30s }\n')).toMatch(/6:12 locking.append_ttl has no effect here: an append is one atomic KV operation/);
    expect(says('token_provider: { provider: openai, model: gpt-4o, api_key_env: OPENAI_API_KEY, endpoint: "http://x" }\n')).toMatch(
      /token_provider.api_key_env is not supported[\s\S]*token_provider.endpoint is not supported/,
    );
    expect(says('token_provider: { provider: anthropic, model: claude-3-5-sonnet }\n')).toMatch(/No local tokenizer for provider "anthropic"/);
    expect(says('token_provider: { provider: openai, model: gpt-9000 }\n')).toMatch(/"gpt-9000" is neither an OpenAI model nor an encoding/);
    expect(says('privacy_policy: { non_persistable_message_types: [payment_info] }\n')).toMatch(/"payment_info" is not a message role, so it would never match/);
    expect(says('privacy_policy: { redact_patterns: ["(unclosed"] }\n')).toMatch(/is not a valid regular expression/);
    expect(says('privacy_policy: { default_redaction_string: x }\n')).toMatch(/default_redaction_string has no effect without redact_patterns/);
    expect(says('eviction_policy: { type: priority, priority_keywords: [x] }\n')).toMatch(/eviction_policy priority has no effect with flushing.type simple_fifo/);
    expect(says('eviction_policy: { type: fifo, priority_keywords: [x] }\n')).toMatch(/priority_keywords has no effect with eviction_policy.type fifo/);
    expect(says('flushing: { type: lru, summary_tokens: 10 }\n')).toMatch(/flushing.summary_tokens has no effect with flushing.type lru/);
    expect(says('flushing: { type: hybrid_summary }\n')).toMatch(/hybrid_summary flushing needs summary_tokens/);
    expect(says('persistence_extra: 1\n')).toMatch(/Unknown memory field "persistence_extra"/);
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_context_ratio: 0.5\npersistence: { type: redis, ttl: 1h }\n').join('\n')).toMatch(/max_context_ratio needs token_provider/);
    expect(problems('resource: memory\nid: m\ntype: token_based\nmax_context_ratio: 0.5\npersistence: { type: redis, ttl: 1h }\ntoken_provider: { provider: openai, model: o200k_base }\n').join('\n')).toMatch(
      /names an encoding, not a model/,
    );
    expect(problems('resource: memory\nid: m\ntype: buffer\npersistence: { type: in_memory, circuit_breaker: { max_failures: 3 } }\n').join('\n')).toMatch(/4:33 circuit_breaker settings have no effect while enabled is not true/);
  });

  it('autoloaded memory files and workflow resources.memories are loaded and validated', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: mem\nworkflows:\n  - source: ./workflows/chat.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
      'memory/notes.yaml': 'resource: memory\nid: notes\ntype: message_count_based\nmax_messages: 20\npersistence: { type: redis, ttl: 24h }\n',
      'workflows/chat.yaml': 'id: chat\nresources:\n  memories:\n    - id: session\n      source: ../shared/session.yaml\n    - id: wrong\n      source: ../shared/session.yaml\n    - id: gone\n      source: ./missing.yaml\ntasks:\n  - id: remember\n    type: memory\n    operation: read\n    memory_ref: session\n    key_template: "s"\n',
      'shared/session.yaml': 'resource: memory\nid: session\ntype: buffer\nmax_messages: 10\npersistence: { type: in_memory }\n',
    });
    const { project, diagnostics } = loadProjectConfig(dir);
    expect(diagnostics.map((d) => `${d.file.slice(dir.length + 1)}:${d.line}:${d.col} ${d.message}`)).toEqual([
      'workflows/chat.yaml:6:7 resources.memories names "wrong" but ../shared/session.yaml defines memory "session".',
      `workflows/chat.yaml:9:7 Memory resource file ./missing.yaml does not exist (${dir}/workflows/missing.yaml).`,
    ]);
    expect(project?.memories.map((m) => m.id)).toEqual(['notes']);
    expect(project?.workflows[0]?.memories.map((m) => m.id)).toEqual(['session']);
    expect(projectMemories(project as NonNullable<typeof project>).map((m) => m.id)).toEqual(['notes', 'session']);
    expect(validateProject(project as NonNullable<typeof project>)).toEqual([]);
  });

  it('two files defining one memory id are a duplicate; a memory file that is not one is refused', () => {
    const dir = writeFiles({
      'compozy.yaml': 'name: mem\nworkflows:\n  - source: ./wf.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
      'memory/a.yaml': 'resource: memory\nid: same\ntype: buffer\npersistence: { type: in_memory }\n',
      'memory/b.yaml': 'resource: memory\nid: same\ntype: buffer\npersistence: { type: in_memory }\n',
      'wf.yaml': 'id: wf\nresources:\n  memories:\n    - { id: t, source: ./tool.yaml }\ntasks: []\n',
      'tool.yaml': 'resource: tool\nid: t\n',
    });
    const { project, diagnostics } = loadProjectConfig(dir);
    expect(diagnostics.map((d) => d.message)).toEqual(['./tool.yaml is a "tool" resource; resources.memories needs resource: memory.']);
    expect(validateProject(project as NonNullable<typeof project>).map((d) => d.message)).toContainEqual(expect.stringMatching(/^Duplicate memory id "same"/));
  });
});
