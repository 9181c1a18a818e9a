import type { TestProject } from 'vitest/node';
import { resolveTemporalBinary } from '../src/temporal/binary.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalBin: string;
  }
}

/** Same resolver as `compozy dev`: on a fresh machine this installs the Temporal CLI once, into the cache. */
export default async function setup(project: TestProject): Promise<void> {
  const resolved = await resolveTemporalBinary({
    install: true,
    onProgress: (event) => process.stderr.write(`[temporal install] ${event.message}\n`),
  });
  process.stderr.write(`[global setup] Temporal CLI ${resolved.version} at ${resolved.path} (${resolved.source})\n`);
  project.provide('temporalBin', resolved.path);
}
