import { projectEnv } from '../config/settings.js';
import { plural } from '../platform/plural.js';
import { projectConfig, type Check } from './checks.js';

/** Each server gets one attempt here: a doctor run says what is wrong instead of retrying it. */
const ONE_ATTEMPT = { maxCrashes: 1 };

/**
 * The project's MCP servers, each started (a stdio one) or connected (a remote one) the way serve does
 * it, and its tools listed; then, for every agent, that no tool name is offered twice (its own tools,
 * the built-in ones, and its servers' tools share the names the model calls).
 */
export const mcpCheck: Check = {
  name: 'mcp',
  description: 'each MCP server starts (stdio) or answers (sse, streamable-http) and lists its tools, and no agent is offered two tools of one name',
  async run(context) {
    const project = await projectConfig(context);
    if (!project) return undefined;
    const [{ agentMcpIds, agentsWithMcpScope, projectMcpServers }, { McpServers }, { nativeToolSpecs }] = await Promise.all([import('../config/mcp-servers.js'), import('../mcp/servers.js'), import('../tools/native/index.js')]);
    const declared = projectMcpServers(project);
    if (declared.length === 0) return undefined;
    const servers = new McpServers(declared, { cwd: project.dir, env: projectEnv(project.dir, context.env), callTimeoutMs: 10_000, log: () => undefined, restartPolicy: ONE_ATTEMPT });
    try {
      await servers.start();
      const status = servers.status();
      const down = status.filter((s) => s.state !== 'up');
      if (down.length > 0) {
        return {
          name: 'mcp',
          status: 'fail',
          message: down.map((s) => `${s.id} (${s.transport} ${s.target}): ${s.error ?? s.state}`).join('; '),
          fix: 'Run the command by hand (stdio) or check the url and headers (remote); serve logs the server\'s stderr as "mcp <id>: …" lines.',
        };
      }
      const toolsOf = new Map(status.map((s) => [s.id, s.tools]));
      const native = project.runtime.nativeTools ? nativeToolSpecs(project.runtime.nativeTools).map((spec) => spec.id) : [];
      const conflicts: string[] = [];
      for (const { agent, inherited } of agentsWithMcpScope(project)) {
        const seen = new Map<string, string>([...agent.tools, ...native].map((id) => [id, "its tools:"]));
        for (const id of agentMcpIds(agent, inherited)) {
          for (const name of toolsOf.get(id) ?? []) {
            const first = seen.get(name);
            if (first !== undefined) conflicts.push(`agent ${agent.id}: "${name}" of MCP server ${id} and of ${first}`);
            else seen.set(name, `MCP server ${id}`);
          }
        }
      }
      if (conflicts.length > 0) return { name: 'mcp', status: 'fail', message: `tool names offered twice: ${conflicts.join('; ')}`, fix: "Drop one of the two from the agent's tools: or mcps: (the project's and a workflow's servers reach every agent below them)." };
      return { name: 'mcp', status: 'pass', message: status.map((s) => `${s.id}: ${s.transport}, ${plural(s.tools.length, 'tool')} (${s.tools.join(', ')})`).join('; ') };
    } finally {
      await servers.close();
    }
  },
};
