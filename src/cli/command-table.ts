import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every top-level command, in the order help lists them, with the module that registers it. A
 * process loads only the module of the command it runs: all of them together are ~90 ms of imports
 * (dev's alone ~50), paid by each of dev's processes before it does anything.
 */
export const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ['init'], load: async () => (await import('./commands/init.js')).registerInit },
  { names: ['dev'], load: async () => (await import('./commands/dev.js')).registerDev },
  { names: ['run'], load: async () => (await import('./commands/run.js')).registerRun },
  { names: ['test'], load: async () => (await import('./commands/test.js')).registerTest },
  { names: ['serve', 'start'], load: async () => (await import('./commands/serve.js')).registerServe },
  { names: ['worker'], load: async () => (await import('./commands/worker.js')).registerWorker },
  { names: ['status'], load: async () => (await import('./commands/status.js')).registerStatus },
  { names: ['workflow'], load: async () => (await import('./commands/workflow.js')).registerWorkflow },
  { names: ['executions'], load: async () => (await import('./commands/executions.js')).registerExecutions },
  { names: ['agent', 'tool'], load: async () => (await import('./commands/direct.js')).registerDirect },
  { names: ['memory'], load: async () => (await import('./commands/memory.js')).registerMemory },
  { names: ['schedules'], load: async () => (await import('./commands/schedules.js')).registerSchedules },
  { names: ['doctor'], load: async () => (await import('./commands/doctor.js')).registerDoctor },
  { names: ['temporal'], load: async () => (await import('./commands/temporal.js')).registerTemporal },
  { names: ['config'], load: async () => (await import('./commands/config.js')).registerConfig },
  { names: ['auth'], load: async () => (await import('./commands/auth.js')).registerAuth },
];

/**
 * Registers the command `argv` names, or every command when it names none of them (help, --version,
 * a mistyped name, which commander then answers with the closest one).
 */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const named = COMMANDS.find((command) => command.names.includes(argv[2] ?? ''));
  const registers = await Promise.all((named ? [named] : COMMANDS).map((command) => command.load()));
  for (const register of registers) register(program);
}
