import { CompozyError } from '../errors.js';

/** The output-format instruction added to the system prompt when an agent must answer in JSON. */
export function jsonInstruction(schema: Record<string, unknown> | undefined): string {
  return schema
    ? `Respond with a single JSON object that matches this JSON Schema, and nothing else:\n${JSON.stringify(schema)}`
    : 'Respond with a single JSON object and nothing else.';
}

/**
 * The JSON object in a model's answer: the whole text, or the first fenced ```json block, or the span
 * from the first `{` to the last `}` (models often wrap JSON in prose).
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    try {
      const value: unknown = JSON.parse(candidate);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // try the next candidate
    }
  }
  throw new CompozyError('LLM_OUTPUT_INVALID', `The model did not answer with a JSON object: ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`);
}
