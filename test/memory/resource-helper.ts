import { readMemoryResource } from '../../src/config/memory-resource.js';
import { Reader } from '../../src/config/read.js';
import type { MemoryResource } from '../../src/config/types.js';
import { YamlFile, type ConfigDiagnostic } from '../../src/config/yaml-file.js';

/** A memory resource parsed from YAML the way the loader does, with its diagnostics. */
export function parseMemory(yaml: string, path = '/project/memory/m.yaml'): { memory: MemoryResource | undefined; diagnostics: ConfigDiagnostic[] } {
  const file = new YamlFile(path, yaml);
  const diagnostics: ConfigDiagnostic[] = [...file.syntaxErrors];
  const memory = readMemoryResource(new Reader(file, diagnostics), file.data as Record<string, unknown>, [], file);
  return { memory, diagnostics };
}

/** A valid memory resource; throws with the diagnostics otherwise. */
export function memory(yaml: string): MemoryResource {
  const { memory: parsed, diagnostics } = parseMemory(`resource: memory\n${yaml}`);
  if (!parsed || diagnostics.length > 0) throw new Error(`invalid memory resource: ${diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('; ')}`);
  return parsed;
}
