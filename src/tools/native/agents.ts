import type { AgentConfig } from '../../config/types.js';
import { nativeError } from './errors.js';

/** The agents the catalog tools describe: the project's, workflow-level ones included. */
export type AgentCatalog = () => Iterable<AgentConfig>;

function byId(agents: AgentCatalog): Map<string, AgentConfig> {
  return new Map([...agents()].map((agent) => [agent.id, agent]));
}

/** cp__list_agents (Go agentcatalog/list.go): {agents: [{agent_id, actions?}]}, sorted by id. */
export function listAgents(agents: AgentCatalog): Record<string, unknown> {
  const list = [...byId(agents).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { agents: list.map((agent) => ({ agent_id: agent.id, ...(agent.actions.length > 0 ? { actions: agent.actions.map((action) => action.id) } : {}) })) };
}

/** cp__describe_agent (Go agentcatalog/describe.go): {agent_id, actions?: [{id, prompt?}]}; an unknown agent is InvalidArgument. */
export function describeAgent(agents: AgentCatalog, input: { agent_id: string }): Record<string, unknown> {
  const tool = 'cp__describe_agent';
  const id = input.agent_id.trim();
  if (id === '') throw nativeError(tool, 'InvalidArgument', 'agent_id is required', { field: 'agent_id' });
  const agent = byId(agents).get(id);
  if (!agent) throw nativeError(tool, 'InvalidArgument', `agent not found: "${id}"`, { agent_id: id });
  const actions = agent.actions.map((action) => ({ id: action.id, ...(action.prompt ? { prompt: action.prompt } : {}) }));
  return { agent_id: id, ...(actions.length > 0 ? { actions } : {}) };
}
