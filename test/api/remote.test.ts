import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCompozy, type Compozy } from 'compozy';
import { CliProcess } from '../helpers/cli.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
let serve: CliProcess;
let project: string;
let compozy: Compozy;

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
  project = mkdtempSync(join(tmpdir(), 'compozy-api-remote-'));
  cpSync(resolve('examples', 'weather'), project, { recursive: true, filter: (path) => !path.includes('.compozy') });
  serve = new CliProcess(['serve', project, '--port', '0', '--temporal-address', temporal.address, '--json'], { GROQ_API_KEY: '' });
  await serve.waitForOutput('"event":"listening"');
  const url = /"url":"([^"]+)"/.exec(serve.output)?.[1] ?? '';
  compozy = createCompozy({ apiUrl: url });
  await compozy.start();
}, 90_000);

afterAll(async () => {
  await serve?.stop();
  await temporal?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('createCompozy({ apiUrl }): the same calls over a running API', () => {
  it('lists workflows, runs one to its end and reads it back in the same shape as in-process', async () => {
    expect((await compozy.workflows()).map((w) => w.id)).toEqual(['weather']);
    const execution = await compozy.runWorkflow('weather', { city: 'Lisbon' }, { timeoutMs: 60_000 });
    expect(execution).toMatchObject({ workflowId: 'weather', status: 'SUCCESS', output: { city: 'Lisbon' }, tasks: { save_json: { status: 'SUCCESS', toolId: 'save_data' } } });
    await expect(compozy.execution(execution.execId)).resolves.toEqual(execution);
    expect((await compozy.executions({ workflowId: 'weather', limit: 5 })).map((e) => e.execId)).toContain(execution.execId);
  }, 60_000);

  it("the API's refusals are CompozyErrors with its codes; what needs the project here is refused", async () => {
    await expect(compozy.startWorkflow('weather', { town: 'Lisbon' })).rejects.toMatchObject({ name: 'CompozyError', code: 'INPUT_INVALID' });
    await expect(compozy.startWorkflow('nope')).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' });
    await expect(compozy.runTool('save_data', {})).rejects.toMatchObject({ code: 'USAGE' });
    expect(() => compozy.subscribe(() => undefined)).toThrow('Execution events reach the process whose worker runs them');
  });

  it('an API that does not answer is NOT_RUNNING', async () => {
    const gone = createCompozy({ apiUrl: 'http://127.0.0.1:9' });
    await expect(gone.workflows()).rejects.toMatchObject({ code: 'NOT_RUNNING' });
    expect(() => createCompozy({ apiUrl: 'not a url' })).toThrow('is not a URL');
  });
});
