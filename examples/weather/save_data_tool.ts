import { writeFile } from 'node:fs/promises';

interface SaveInput {
  payload: Record<string, unknown>;
  format: 'json' | 'txt';
}

function asText(value: unknown, indent = ''): string {
  if (Array.isArray(value)) return value.map((item) => `${indent}- ${typeof item === 'object' && item !== null ? `\n${asText(item, `${indent}  `)}` : String(item)}`).join('\n');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, item]) => (typeof item === 'object' && item !== null ? `${indent}${key}:\n${asText(item, `${indent}  `)}` : `${indent}${key}: ${String(item)}`))
      .join('\n');
  }
  return `${indent}${String(value)}`;
}

/** Writes the results next to the project as results.json or results.txt. */
export async function saveData(input: SaveInput) {
  const filename = `results.${input.format}`;
  const text = input.format === 'json' ? `${JSON.stringify(input.payload, null, 2)}\n` : `${asText(input.payload)}\n`;
  await writeFile(filename, text);
  return { success: true, format: input.format, filename };
}
