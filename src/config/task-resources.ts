import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isObj, Reader, resourceSources, suggestion, type Obj } from './read.js';
import type { TaskConfig, Transition } from './types.js';
import type { ConfigDiagnostic, YamlFile, YamlPath } from './yaml-file.js';

/**
 * Task resources (`resource: task` files: autoloaded `tasks/*.yaml`, a workflow's
 * `resources.tasks: [{id, source}]`) and the places that use one: a task entry `task: <id>` (no
 * `type:`), `$use: task(local::tasks.#(id=="x"))` (or `$ref: local::tasks.#(id=="x")`, `global::`
 * alike: the id is looked up as an agent's or a tool's is), and a collection's `task: <id>`.
 *
 * A reference site is the resource's task with the site's own fields over it: `id` (the resource's
 * when absent), `with` and `env` merged key by key over the resource's, `outputs`, `on_success`,
 * `on_error`, `final`, `sleep` replacing them. Any other field at the site is refused: the task's
 * definition lives in one place. The Go engine stores task resources by id (engine/resources
 * ResourceTask) and matches a workflow's task to one by id (resourceutil.WorkflowsReferencingTask).
 */

/** The fields a reference site may give, over the resource's. */
const SITE_FIELDS = new Set(['id', 'description', 'with', 'env', 'outputs', 'on_success', 'on_error', 'final', 'sleep']);

const USE = /^\s*task\(\s*(?:local|global)::tasks\.#\(\s*id\s*==?\s*"([^"]*)"\s*\)\s*\)\s*$/;
const REF = /^\s*(?:local|global)::tasks\.#\(\s*id\s*==?\s*"([^"]*)"\s*\)\s*$/;

/** What the loader lends the task resources: its parser for a task and its file reader. */
export interface TaskParser {
  readonly diagnostics: ConfigDiagnostic[];
  open(path: string): YamlFile | undefined;
  task(r: Reader, raw: unknown, path: YamlPath, inCollection?: boolean): TaskConfig | undefined;
  transition(r: Reader, raw: Obj, path: YamlPath, key: string): Transition | undefined;
}

interface Resource {
  id: string;
  reader: Reader;
  data: Obj;
  scope: Scope;
  state: 'unread' | 'reading' | 'read';
  config?: TaskConfig;
}

/** The resources a site sees: its workflow's `resources.tasks`, then the project's. */
interface Scope {
  local: Map<string, Resource>;
}

interface Site {
  placeholder: Obj;
  reader: Reader;
  path: YamlPath;
  key: string;
  id: string;
  scope: Scope;
  owner?: Resource;
  overrides: Partial<TaskConfig>;
}

/** The referenced id when this task entry (or a collection's `task:`) is a task reference. */
export function taskReference(raw: unknown, inCollection: boolean): { key: string; id: string } | undefined {
  if (typeof raw === 'string') return inCollection ? { key: '', id: raw } : undefined;
  if (!isObj(raw)) return undefined;
  if (typeof raw.task === 'string' && raw.type === undefined) return { key: 'task', id: raw.task };
  const use = typeof raw.$use === 'string' ? USE.exec(raw.$use) : null;
  if (use) return { key: '$use', id: use[1] as string };
  const ref = typeof raw.$ref === 'string' ? REF.exec(raw.$ref) : null;
  if (ref) return { key: '$ref', id: ref[1] as string };
  return undefined;
}

export class TaskResources {
  private readonly project = new Map<string, Resource>();
  private readonly all: Resource[] = [];
  private readonly sites = new Map<Obj, Site>();
  /** Every site read inside a resource, kept after it is filled: the edges a cycle would run along. */
  private readonly uses: Site[] = [];
  private scope: Scope = { local: new Map() };
  private owner: Resource | undefined;

  constructor(private readonly parser: TaskParser) {}

  /** An autoloaded `resource: task` file. */
  addProjectResource(r: Reader, data: Obj): void {
    this.add(r, data, this.project, { local: new Map() });
  }

  /** Reads a workflow's `resources.tasks` files; its tasks' references see them before the project's. */
  enterWorkflow(r: Reader, file: YamlFile, entries: Array<{ id: string; source: string; path: YamlPath }>): void {
    const local = new Map<string, Resource>();
    this.scope = { local };
    for (const { id, source, path } of entries) {
      const target = resolve(dirname(file.path), source);
      if (!existsSync(target)) {
        r.error([...path, 'source'], `Task resource file ${source} does not exist (${target}).`, 'Fix the path; it is relative to the workflow file.');
        continue;
      }
      const resourceFile = this.parser.open(target);
      if (!resourceFile) continue;
      const rr = new Reader(resourceFile, this.parser.diagnostics);
      const data = resourceFile.data as Obj;
      const kind = rr.string(data, [], 'resource', true);
      if (kind !== undefined && kind !== 'task') {
        rr.error(['resource'], `${source} is a "${kind}" resource; resources.tasks needs resource: task.`);
        continue;
      }
      if (data.id !== id) {
        r.error([...path, 'id'], `resources.tasks names "${id}" but ${source} defines task "${String(data.id)}".`, 'Make the two ids the same.');
        continue;
      }
      this.add(rr, data, local, this.scope);
    }
  }

  private add(r: Reader, data: Obj, into: Map<string, Resource>, scope: Scope): void {
    const id = r.string(data, [], 'id', true);
    if (id === undefined) return;
    const first = into.get(id);
    if (first) {
      const where = first.reader.file.at(['id']);
      r.error(['id'], `Duplicate task resource id "${id}" (first defined at ${where.file}:${where.line}:${where.col}).`, 'Give each task resource a unique id.');
      return;
    }
    const resource: Resource = { id, reader: r, data, scope, state: 'unread' };
    into.set(id, resource);
    this.all.push(resource);
  }

  /**
   * A reference site: checked now, filled with the resource's task once every resource is known
   * (`resolve`). The returned object is the one the task list holds.
   */
  site(r: Reader, raw: unknown, path: YamlPath, ref: { key: string; id: string }): TaskConfig {
    const placeholder: Obj = {};
    const overrides: Partial<TaskConfig> = {};
    if (isObj(raw)) {
      for (const key of Object.keys(raw)) {
        if (key === ref.key || SITE_FIELDS.has(key)) continue;
        r.error([...path, key], `A task that uses task resource "${ref.id}" takes no "${key}"; the resource defines the task.`, `Write ${key}: in the task resource, or write the task out instead of referencing it. A reference may give ${[...SITE_FIELDS].join(', ')}.`);
      }
      const id = r.string(raw, path, 'id');
      if (id !== undefined) overrides.id = id;
      if (raw.with !== undefined) overrides.with = r.map(raw, path, 'with');
      if (raw.env !== undefined) overrides.env = r.stringMap(raw, path, 'env');
      if (raw.outputs !== undefined) overrides.outputs = r.map(raw, path, 'outputs');
      if (raw.final !== undefined) overrides.final = r.bool(raw, path, 'final');
      const sleep = r.string(raw, path, 'sleep');
      if (sleep !== undefined) overrides.sleep = sleep;
      const onSuccess = this.parser.transition(r, raw, path, 'on_success');
      const onError = this.parser.transition(r, raw, path, 'on_error');
      if (onSuccess) overrides.onSuccess = onSuccess;
      if (onError) overrides.onError = onError;
    }
    const site: Site = { placeholder, reader: r, path, key: ref.key, id: ref.id, scope: this.scope, ...(this.owner ? { owner: this.owner } : {}), overrides };
    this.sites.set(placeholder, site);
    if (this.owner) this.uses.push(site);
    return placeholder as unknown as TaskConfig;
  }

  /** Reads every resource and fills every reference site; called once the whole project is read. */
  resolve(): void {
    for (const resource of this.all) this.read(resource);
    for (const site of [...this.sites.values()]) this.fill(site);
  }

  /** The project's task resources (autoloaded and those workflows bring), by id, as read. */
  tasks(): TaskConfig[] {
    return this.all.flatMap((resource) => (resource.config ? [resource.config] : []));
  }

  private read(resource: Resource): TaskConfig | undefined {
    if (resource.state !== 'unread') return resource.config;
    resource.state = 'reading';
    const scope = this.scope;
    const owner = this.owner;
    this.scope = resource.scope;
    this.owner = resource;
    const config = this.parser.task(resource.reader, resource.data, []);
    this.scope = scope;
    this.owner = owner;
    if (config) resource.config = config;
    resource.state = 'read';
    return config;
  }

  private lookup(site: Site): Resource | undefined {
    return site.scope.local.get(site.id) ?? this.project.get(site.id);
  }

  private fill(site: Site): void {
    if (!this.sites.has(site.placeholder)) return;
    this.sites.delete(site.placeholder);
    const at = site.key === '' ? site.path : [...site.path, site.key];
    const resource = this.lookup(site);
    let target: TaskConfig | undefined;
    if (!resource) {
      const known = [...new Set([...site.scope.local.keys(), ...this.project.keys()])];
      site.reader.error(at, `Task resource "${site.id}" does not exist.`, suggestion(site.id, known, 'task resource') ?? 'Declare it in tasks/<id>.yaml (resource: task) with autoload, or under the workflow\'s resources.tasks: [{id, source}].');
    } else if (site.owner && this.reaches(resource, site.owner, new Set())) {
      site.reader.error(at, `Task resource "${site.owner.id}" uses task resource "${site.id}", which leads back to it.`, 'A task resource cannot contain itself; break the cycle.');
    } else {
      target = this.read(resource);
      const pending = target ? this.sites.get(target as unknown as Obj) : undefined;
      if (pending) this.fill(pending);
    }
    // An unresolved site stays a task that adds no diagnostic of its own: the one above says what is wrong.
    const base: TaskConfig = target ?? { file: site.reader.file, path: site.path, id: site.id, type: 'aggregate', with: {}, env: {}, outputs: {}, final: false };
    Object.assign(site.placeholder, base, site.overrides, {
      with: { ...base.with, ...(site.overrides.with ?? {}) },
      env: { ...base.env, ...(site.overrides.env ?? {}) },
    });
  }

  /** Whether `from`'s task (its sites, transitively) uses `to`. */
  private reaches(from: Resource, to: Resource, seen: Set<Resource>): boolean {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    for (const site of this.uses) {
      if (site.owner !== from) continue;
      const next = this.lookup(site);
      if (next && this.reaches(next, to, seen)) return true;
    }
    return false;
  }
}

/** A workflow's `resources.tasks: [{id, source}]` entries (resources.memories is read by memory-resource.ts). */
export function taskSources(r: Reader, raw: Obj): Array<{ id: string; source: string; path: YamlPath }> {
  return isObj(raw.resources) ? resourceSources(r, raw.resources, 'tasks', 'task') : [];
}
