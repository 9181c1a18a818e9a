import type { ProjectConfig, SchemaRef } from '../config/types.js';

export interface FirstWorkflow {
  id: string;
  /** An input that satisfies the workflow's input schema's required properties. */
  input: Record<string, unknown>;
}

function schemaOf(project: ProjectConfig, ref: SchemaRef | undefined, local: ProjectConfig['schemas']): Record<string, unknown> | undefined {
  if (!ref) return undefined;
  if (ref.kind === 'inline') return ref.schema;
  return [...local, ...project.schemas].find((s) => s.id === ref.id)?.schema;
}

function placeholder(name: string, schema: Record<string, unknown>): unknown {
  const examples = schema.examples;
  if (Array.isArray(examples) && examples.length > 0) return examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return exampleFromSchema(schema);
    default:
      return `<${name}>`;
  }
}

function exampleFromSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  return Object.fromEntries(required.filter((name) => properties[name] !== undefined).map((name) => [name, placeholder(name, properties[name] as Record<string, unknown>)]));
}

/** The project's first workflow with an input to try it with, for the curl `compozy dev` prints. */
export function firstWorkflow(project: ProjectConfig): FirstWorkflow | undefined {
  const workflow = project.workflows[0];
  if (!workflow) return undefined;
  const schema = schemaOf(project, workflow.input, workflow.schemas);
  return { id: workflow.id, input: schema ? exampleFromSchema(schema) : {} };
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function curlFor(apiUrl: string, workflow: FirstWorkflow): string {
  return `curl -s -X POST ${apiUrl}/api/v0/workflows/${encodeURIComponent(workflow.id)}/executions -H 'content-type: application/json' -d ${shellQuote(JSON.stringify({ input: workflow.input }))}`;
}

/** The lines after the health table: where the API is, how to try it, where the logs are, how to stop. */
export function startLines(options: { apiUrl: string; workflow?: FirstWorkflow | undefined; dashboardUrl?: string | undefined; logDir: string }): string[] {
  return [
    `  API        ${options.apiUrl}`,
    ...(options.workflow ? [`  Try it     ${curlFor(options.apiUrl, options.workflow)}`] : []),
    ...(options.dashboardUrl ? [`  Dashboard  ${options.dashboardUrl}`] : []),
    `  Logs       ${options.logDir}`,
    '',
    '  Ctrl-C to stop',
  ];
}
