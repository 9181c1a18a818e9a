import { join } from 'node:path';

/** The stdio MCP server of the test fixtures (tools add and echo), run with `node`. */
export const FIXTURE_SERVER = join(import.meta.dirname, '..', 'fixtures', 'mcp', 'server.mjs');

/** An `mcps:` entry (at `indent`) starting the fixture server with this Node. */
export function fixtureServerYaml(id: string, indent = '  ', extra = ''): string {
  return `${indent}- id: ${id}\n${indent}  command: ${process.execPath}\n${indent}  args: [${JSON.stringify(FIXTURE_SERVER)}]\n${extra.replace(/^(?=.)/gm, `${indent}  `)}`;
}
