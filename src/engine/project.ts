import type { ProjectConfig } from '../config/types.js';
import { CompozyError } from '../errors.js';
import { resourceIndex, resolveSchema, workflowDef, type JsonSchema, type ResourceIndex, type WorkflowDef } from './definition.js';

/** A validated project in the form the engine runs: workflow definitions, resources and signal triggers. */
export interface EngineProject {
  name: string;
  dir: string;
  workflows: Map<string, WorkflowDef>;
  resources: ResourceIndex;
  /** Signal name → the workflow its trigger starts, with the payload schema when declared. */
  triggers: Map<string, { workflowId: string; schema?: JsonSchema }>;
  /** limits.max_nesting_depth, which every definition compiled for this project carries. */
  maxNestingDepth: number;
}

export function compileProject(project: ProjectConfig, maxNestingDepth: number): EngineProject {
  const workflows = new Map(project.workflows.map((w) => [w.id, workflowDef(project, w, maxNestingDepth)]));
  const triggers = new Map<string, { workflowId: string; schema?: JsonSchema }>();
  for (const workflow of project.workflows) {
    const schemas = new Map([...project.schemas, ...workflow.schemas].map((s) => [s.id, s]));
    for (const trigger of workflow.triggers) {
      if (trigger.type !== 'signal' || !trigger.name) continue;
      const existing = triggers.get(trigger.name);
      if (existing && existing.workflowId !== workflow.id) {
        throw new CompozyError('CONFIG_INVALID', `Signal "${trigger.name}" triggers both workflow ${existing.workflowId} and workflow ${workflow.id}.`, {
          hint: 'A signal name may start only one workflow; rename one of the triggers.',
        });
      }
      const schema = resolveSchema(trigger.schema, schemas);
      triggers.set(trigger.name, { workflowId: workflow.id, ...(schema ? { schema } : {}) });
    }
  }
  return { name: project.name, dir: project.dir, workflows, resources: resourceIndex(project), triggers, maxNestingDepth };
}
