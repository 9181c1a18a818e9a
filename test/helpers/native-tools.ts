import { join } from 'node:path';
import { expect } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import type { NativeToolsConfig } from '../../src/config/native-tools.js';
import type { AgentConfig } from '../../src/config/types.js';
import { CompozyError } from '../../src/errors.js';
import type { NativeCalls } from '../../src/tools/native/calls.js';
import { NativeTools } from '../../src/tools/native/index.js';
import { writeFiles } from './files.js';

/** runtime.native_tools as the loader reads it from YAML (every default the Go engine's). */
export function config(yaml: string, files: Record<string, string> = {}): { dir: string; native: NativeToolsConfig } {
  const dir = writeFiles({ 'compozy.yaml': `name: n\nruntime:\n  native_tools:\n${yaml}`, ...files });
  const { project, diagnostics } = loadProjectConfig(dir);
  expect(diagnostics).toEqual([]);
  const native = project?.runtime.nativeTools;
  if (!native) throw new Error('no native_tools');
  return { dir, native };
}

/** The built-in tools of a project in `dir`, with these agents and this engine for the call tools. */
export function tools(native: NativeToolsConfig, dir: string, options: { agents?: AgentConfig[]; calls?: NativeCalls } = {}): NativeTools {
  return new NativeTools(native, { protectedPaths: [join(dir, '.compozy')], agents: () => options.agents ?? [], calls: () => options.calls });
}

/** The error a call fails with: its code and the Go engine's code in details. */
export async function failure(promise: Promise<unknown>): Promise<{ code: string; go: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CompozyError) return { code: error.code, go: error.details?.code, message: error.message };
    throw error;
  }
  throw new Error('the call succeeded');
}

