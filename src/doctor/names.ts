/** The doctor's checks, in the order they run (kept light: the CLI lists them in its help). */
export const CHECK_NAMES = ['node', 'temporal', 'state', 'ports', 'redis', 'postgres', 'temporal-server', 'llm', 'agents', 'tools', 'memory', 'mcp'] as const;
