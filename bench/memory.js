// Conversation memory through the same memory service on the embedded SQLite KV and on Redis: append of
// one message (token count, counters, trim to max_messages) and read of the last 50 messages, one awaited
// caller and 32 in flight; and an agent turn on a replay model with read-write memory (its last 50
// messages loaded before the call, the turn appended after) against the same agent without memory.
// Last line: one JSON object.
import { createClient } from '@redis/client';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectMemories, readMemoryResource } from '../dist/config/memory-resource.js';
import { Reader } from '../dist/config/read.js';
import { loadValidProject } from '../dist/config/valid-project.js';
import { YamlFile } from '../dist/config/yaml-file.js';
import { resourceIndex } from '../dist/engine/definition.js';
import { RedisKv } from '../dist/kv/redis/redis-kv.js';
import { SqliteKv } from '../dist/kv/sqlite/sqlite-kv.js';
import { LlmAgents } from '../dist/llm/agent-runner.js';
import { createMemoryManager } from '../dist/memory/service.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONVERSATIONS = 100;
const HISTORY = 50;
const TURNS = Number(process.env.BENCH_TURNS ?? 2000);

function resource(yaml) {
  const file = new YamlFile('/bench/memory/chat.yaml', yaml);
  const diagnostics = [];
  const parsed = readMemoryResource(new Reader(file, diagnostics), file.data, [], file);
  if (!parsed || diagnostics.length > 0) throw new Error(`bench resource invalid: ${JSON.stringify(diagnostics)}`);
  return parsed;
}

const chat = resource(`resource: memory\nid: chat\ntype: message_count_based\nmax_messages: ${HISTORY}\npersistence: { type: redis, ttl: 24h }\n`);
const message = { role: 'user', content: 'What will the weather be like in Paris tomorrow afternoon, and should I take an umbrella?' };

const dir = mkdtempSync(join(tmpdir(), 'compozy-bench-memory-'));
const sqliteKv = SqliteKv.open(join(dir, 'kv.db'));
const prefix = `compozy-bench-memory:${randomUUID()}:`;
const redisKv = await RedisKv.connect({ url: REDIS_URL, prefix });
// The flush check runs 100 ms after a burst of appends, not per append: it is left out of the per-operation figures.
const options = { project: 'bench', resources: [chat], flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 };
const backends = {
  sqlite: await createMemoryManager({ kv: sqliteKv, ...options }),
  redis: await createMemoryManager({ kv: redisKv, ...options }),
};

const operations = {
  append: (manager, i) => manager.instance('chat', `user:${i % CONVERSATIONS}`).append([message]),
  read_last_50: (manager, i) => manager.instance('chat', `user:${i % CONVERSATIONS}`).read(),
};

/** Fills every conversation to max_messages, so a read returns the last 50 and every append trims one. */
async function prepare(manager) {
  for (let c = 0; c < CONVERSATIONS; c++) {
    const instance = manager.instance('chat', `user:${c}`);
    for (let n = 0; n < HISTORY; n++) await instance.append([message]);
    if ((await instance.read()).count !== HISTORY) throw new Error('bench preparation failed');
  }
}

/** Operations done and milliseconds taken over `ms`, with `inFlight` calls outstanding at any time. */
async function slice(manager, op, inFlight, ms) {
  let i = 0;
  const started = performance.now();
  const deadline = started + ms;
  const lane = async () => {
    while (performance.now() < deadline) await op(manager, i++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { ops: i, ms: performance.now() - started };
}

/**
 * ops/s of both backends over DURATION_MS each, measured in ROUNDS alternating slices so that the load
 * of a shared machine, which drifts, weighs on both alike.
 */
async function measure(op, inFlight) {
  const totals = { sqlite: { ops: 0, ms: 0 }, redis: { ops: 0, ms: 0 } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of ['sqlite', 'redis']) {
      const { ops, ms } = await slice(backends[name], op, inFlight, DURATION_MS / ROUNDS);
      totals[name].ops += ops;
      totals[name].ms += ms;
    }
  }
  return { s: Math.round(totals.sqlite.ops / (totals.sqlite.ms / 1000)), r: Math.round(totals.redis.ops / (totals.redis.ms / 1000)) };
}

/** A project with two agents on one replay model, alike but for read-write memory on `chat`. */
function agentProject() {
  const project = join(dir, 'agents');
  const files = {
    'compozy.yaml': 'name: bench\nworkflows:\n  - source: ./wf.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
    'memory/chat.yaml': `resource: memory\nid: chat\nkey: "user:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: ${HISTORY}\npersistence: { type: redis, ttl: 24h }\n`,
    'replay/bench.yaml': 'answers:\n  - agent: plain\n    text: "It will rain in Paris tomorrow afternoon: take an umbrella."\n  - agent: remembering\n    text: "It will rain in Paris tomorrow afternoon: take an umbrella."\n',
    'wf.yaml': [
      'id: wf',
      'agents:',
      '  - id: plain',
      '    model: replay:bench',
      '    instructions: You are a weather assistant.',
      '    actions: [{ id: ask, prompt: "{{ .input.text }}" }]',
      '  - id: remembering',
      '    model: replay:bench',
      '    instructions: You are a weather assistant.',
      '    memory: [{ id: chat, mode: read-write }]',
      '    actions: [{ id: ask, prompt: "{{ .input.text }}" }]',
      'tasks:',
      '  - { id: t, agent: plain, action: ask }',
      '',
    ].join('\n'),
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(project, name, '..'), { recursive: true });
    writeFileSync(join(project, name), text);
  }
  return { dir: project, config: loadValidProject(project) };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * An agent turn on a replay model with read-write memory (history of the conversation's last 50 messages
 * loaded and sent, the turn appended: every conversation is full, so every turn also trims) against the
 * same agent without memory, turns of the two interleaved so the load of the machine weighs on both:
 * p50 and p90 in ms, and what memory adds at p50, on each backend.
 */
async function agentTurnFigures() {
  const project = agentProject();
  const figures = {};
  for (const [name, kv] of [['sqlite', sqliteKv], ['redis', redisKv]]) {
    const manager = await createMemoryManager({ kv, project: `bench-agents-${name}`, resources: projectMemories(project.config), flushDebounceMs: 3_600_000, flushMaxWaitMs: 3_600_000 });
    const agents = new LlmAgents({ projectDir: project.dir, models: project.config.models, resources: resourceIndex(project.config), tools: { call: async () => ({}) }, env: {}, memory: manager });
    const turn = async (agentId, i) => {
      const started = performance.now();
      await agents.run({ agentId, actionId: 'ask', input: { text: message.content }, context: { workflow: { input: { user: `u${i % CONVERSATIONS}` } } } });
      return performance.now() - started;
    };
    for (let c = 0; c < CONVERSATIONS; c++) await manager.instance('chat', `user:u${c}`).append(Array.from({ length: HISTORY }, (_, n) => (n % 2 === 0 ? message : { role: 'assistant', content: 'Rain is likely: take an umbrella.' })));
    for (let i = 0; i < 200; i++) await turn(i % 2 === 0 ? 'plain' : 'remembering', i);
    const plain = [];
    const remembering = [];
    for (let i = 0; i < TURNS; i++) {
      plain.push(await turn('plain', i));
      remembering.push(await turn('remembering', i));
    }
    const kept = await manager.instance('chat', 'user:u0').read();
    if (kept.count !== HISTORY || kept.messages.at(-1)?.content !== 'It will rain in Paris tomorrow afternoon: take an umbrella.') throw new Error('bench agent turns were not remembered (or not trimmed to max_messages)');
    plain.sort((a, b) => a - b);
    remembering.sort((a, b) => a - b);
    const round = (ms) => Number(ms.toFixed(3));
    figures[`agent_turn_${name}_plain_p50_ms`] = round(percentile(plain, 0.5));
    figures[`agent_turn_${name}_memory_p50_ms`] = round(percentile(remembering, 0.5));
    figures[`agent_turn_${name}_plain_p90_ms`] = round(percentile(plain, 0.9));
    figures[`agent_turn_${name}_memory_p90_ms`] = round(percentile(remembering, 0.9));
    figures[`agent_turn_${name}_memory_added_p50_ms`] = round(percentile(remembering, 0.5) - percentile(plain, 0.5));
    console.log(
      `agent turn    ${name.padEnd(11)} plain p50 ${round(percentile(plain, 0.5))} ms  with memory p50 ${round(percentile(remembering, 0.5))} ms  added ${round(percentile(remembering, 0.5) - percentile(plain, 0.5))} ms (${TURNS} turns each)`,
    );
    await manager.close();
  }
  return { ...figures, agent_turns: TURNS, agent_memory_target_added_p50_ms: 2 };
}

await prepare(backends.sqlite);
await prepare(backends.redis);
const figures = {};
for (const [name, op] of Object.entries(operations)) {
  for (const inFlight of [1, 32]) {
    const { s, r } = await measure(op, inFlight);
    const label = inFlight === 1 ? 'awaited' : 'inflight32';
    figures[`${name}_${label}_sqlite_ops`] = s;
    figures[`${name}_${label}_redis_ops`] = r;
    figures[`${name}_${label}_ratio`] = Number((s / r).toFixed(2));
    console.log(`${name.padEnd(13)} ${label.padEnd(11)} sqlite ${String(s).padStart(7)}/s  redis ${String(r).padStart(7)}/s  ratio ${(s / r).toFixed(2)}`);
  }
}
Object.assign(figures, await agentTurnFigures(), { duration_ms_per_measure: DURATION_MS, rounds: ROUNDS, load_average_1m: Number(loadavg()[0]?.toFixed(2)) });

await backends.sqlite.close();
await backends.redis.close();
for await (const key of redisKv.scan('*', { count: 1000 })) await redisKv.del(key);
// The locks' fencing counters live beside the keyspace (they outlive their locks by design): removed with the run's prefix.
const raw = await createClient({ url: REDIS_URL }).connect();
for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await raw.del(keys);
await raw.quit();
await sqliteKv.close();
await redisKv.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(figures));
