// 1,000 calls of a trivial MCP tool (echo, of the fixture stdio server in test/fixtures/mcp) through
// compozy's MCP client (src/mcp: McpServers, as serve runs a project's mcps:) versus the raw SDK client
// (Client + StdioClientTransport, no compozy code, its tools listed once before the calls as every
// client that offers them does and as compozy does on connect: the SDK then checks each answer against
// the listed tool), same run, same server program, one call in flight
// on each side. After 500 warm-up calls each, the two sides take turns call by call (which one goes
// first alternating), so a stall of this shared machine falls on both alike. Figures: calls/s (calls
// over the sum of that side's call latencies) and p50/p95 latency of each side; ratio = compozy's
// calls/s over the raw client's (target >= 0.9), p50_ratio = the raw client's p50 over compozy's. The
// last line is one JSON object.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { projectMcpServers } from '../dist/config/mcp-servers.js';
import { loadValidProject } from '../dist/config/valid-project.js';
import { McpServers } from '../dist/mcp/servers.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const WARMUP = 500;
const server = join(import.meta.dirname, '..', 'test', 'fixtures', 'mcp', 'server.mjs');

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One call, its answer checked; its latency (ms) is added to the side's. */
async function measure(side, call, i) {
  const t0 = performance.now();
  const text = await call(`n${i}`);
  const ms = performance.now() - t0;
  if (text !== `n${i}`) throw new Error(`${side}: echo answered ${JSON.stringify(text)} for n${i}`);
  sides[side].latencies.push(ms);
  sides[side].seconds += ms / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'compozy-bench-mcp-'));
writeFileSync(join(dir, 'compozy.yaml'), `name: bench-mcp\nmcps:\n  - id: fixture\n    command: ${process.execPath}\n    args: [${JSON.stringify(server)}]\n`);
const servers = new McpServers(projectMcpServers(loadValidProject(dir)), { cwd: dir, env: process.env, callTimeoutMs: 10_000, log: () => undefined });
await servers.start();
const compozyCall = (text) => servers.call('fixture', 'echo', { text });

const raw = new Client({ name: 'bench', version: '1.0.0' });
await raw.connect(new StdioClientTransport({ command: process.execPath, args: [server], stderr: 'ignore' }));
await raw.listTools();
const rawCall = async (text) => {
  const result = await raw.callTool({ name: 'echo', arguments: { text } });
  return result.content[0].text;
};

for (let i = 0; i < WARMUP; i++) {
  await compozyCall(`n${i}`);
  await rawCall(`n${i}`);
}
const sides = { compozy: { seconds: 0, latencies: [] }, raw: { seconds: 0, latencies: [] } };
for (let i = 0; i < CALLS; i++) {
  for (const side of i % 2 === 0 ? ['raw', 'compozy'] : ['compozy', 'raw']) await measure(side, side === 'raw' ? rawCall : compozyCall, i);
}
for (const side of ['compozy', 'raw']) console.log(`${side} client: ${CALLS} calls in ${sides[side].seconds.toFixed(2)} s`);
await servers.close();
await raw.close();

const figures = (side) => ({
  calls_per_s: Math.round(CALLS / sides[side].seconds),
  p50_ms: Number(percentile(sides[side].latencies, 50).toFixed(3)),
  p95_ms: Number(percentile(sides[side].latencies, 95).toFixed(3)),
});
const compozy = figures('compozy');
const rawFigures = figures('raw');
console.log(JSON.stringify({ calls: CALLS, compozy, raw_sdk: rawFigures, ratio: Number((compozy.calls_per_s / rawFigures.calls_per_s).toFixed(3)), p50_ratio: Number((rawFigures.p50_ms / compozy.p50_ms).toFixed(3)), target: 0.9 }));
