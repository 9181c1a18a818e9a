import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';
import { loadProjectConfig } from '../../src/config/load.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { resourceIndex } from '../../src/engine/definition.js';
import type { EngineProject } from '../../src/engine/project.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { toolInvoker } from '../../src/server/engine-deps.js';
import { commandPolicies } from '../../src/tools/native/exec.js';
import { NativeTools, nativeToolSpecs } from '../../src/tools/native/index.js';
import { tempDir } from '../helpers/fake-bin.js';
import { config, failure, tools } from '../helpers/native-tools.js';
import { writeFiles } from '../helpers/files.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/compat/native-tools');

function problems(files: Record<string, string>): string[] {
  const dir = writeFiles(files);
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.message}`);
}

describe('runtime.native_tools in compozy.yaml', () => {
  it('reads the Go engine defaults, and the project directory as root_dir', () => {
    const { dir, native } = config('    enabled: true\n');
    expect(native).toEqual({
      enabled: true,
      rootDir: dir,
      additionalRoots: [],
      exec: { timeoutMs: 30_000, maxStdoutBytes: 2 << 20, maxStderrBytes: 1 << 10, allowlist: [] },
      fetch: { timeoutMs: 5_000, maxBodyBytes: 2 << 20, maxRedirects: 5, allowedMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] },
      callAgent: { enabled: true, defaultTimeoutMs: 60_000 },
      callAgents: { enabled: true, defaultTimeoutMs: 60_000, maxConcurrent: 10 },
      callTask: { enabled: true, defaultTimeoutMs: 60_000 },
      callWorkflow: { enabled: true, defaultTimeoutMs: 300_000 },
      callTasks: { enabled: true, defaultTimeoutMs: 60_000, maxConcurrent: 10 },
      callWorkflows: { enabled: true, defaultTimeoutMs: 300_000, maxConcurrent: 10 },
      agentOrchestrator: { enabled: true, defaultTimeoutMs: 60_000, maxSteps: 0, maxParallel: 4, plannerDisabled: false, plannerMaxSteps: 12 },
    });
  });

  it('an unknown field, an unimplemented section and an unknown cp__ tool are diagnostics at file:line:col', () => {
    expect(
      problems({
        'compozy.yaml': 'name: n\nruntime:\n  native_tools:\n    root_dri: ./x\n    exec:\n      allowlist:\n        - path: bin/tool\n          max_arg: 2\n    call_tasks:\n      max_concurent: 2\n    call_agent:\n      default_timeout: soon\nworkflows:\n  - source: ./wf.yaml\n',
        'wf.yaml': 'id: wf\nagents:\n  - id: a\n    model: openai:gpt-4o\n    instructions: hi\n    tools: [cp__exce]\n    actions:\n      - id: go\n        prompt: go\ntasks:\n  - id: t\n    tool: cp__grep\n',
      }),
    ).toEqual([
      'compozy.yaml:4:5 Unknown native_tools field "root_dri".',
      'compozy.yaml:7:11 The command path "bin/tool" is not absolute.',
      'compozy.yaml:8:11 Unknown native_tools.exec.allowlist field "max_arg".',
      'compozy.yaml:10:7 Unknown native_tools.call_tasks field "max_concurent".',
      'compozy.yaml:12:7 "default_timeout" is not a duration: "soon".',
      'wf.yaml:6:13 Built-in tool "cp__exce" does not exist.',
    ]);
  });

  it('a cp__ tool without native_tools is refused, and so is a declared tool using the reserved prefix', () => {
    expect(problems({ 'compozy.yaml': 'name: n\nworkflows:\n  - source: ./wf.yaml\n', 'wf.yaml': 'id: wf\ntools:\n  - id: cp__mine\ntasks:\n  - id: t\n    tool: cp__exec\n' })).toEqual([
      'wf.yaml:3:5 Tool id "cp__mine" uses the prefix cp__, which is reserved for the built-in tools.',
      'wf.yaml:6:5 The built-in tool "cp__exec" is not enabled.',
    ]);
  });

  it('the fixture project validates: a tool task and an agent use the built-in tools', () => {
    const project = loadValidProject(FIXTURE);
    expect(project.runtime.nativeTools?.rootDir).toBe(join(FIXTURE, 'workspace'));
    expect(project.runtime.nativeTools?.fetch).toEqual({ timeoutMs: 2000, maxBodyBytes: 16, maxRedirects: 1, allowedMethods: ['GET', 'POST'] });
  });
});

describe('file tools: cp__read_file, cp__write_file, cp__list_files', () => {
  const outside = tempDir('compozy-outside-');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  const { dir, native } = config('    root_dir: ./work\n', { 'work/a.txt': 'alpha\n', 'work/sub/b.md': '# b\n', 'work/sub/c.log': 'c', 'work/bin.dat': 'x\u0000y', '.compozy/store.db': 'state' });
  const t = tools(native, dir);
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'work/link.txt'));
  symlinkSync(outside, join(dir, 'work/out'));

  it('read_file returns content and metadata with the path as the Go engine writes it', async () => {
    const result = await t.call('cp__read_file', { path: 'a.txt' });
    expect(result.content).toBe('alpha\n');
    expect(result.metadata).toMatchObject({ path: '/a.txt', size: 6 });
  });

  it('write_file creates folders, appends, and reports metadata; list_files lists recursively with excludes', async () => {
    expect(await t.call('cp__write_file', { path: 'new/deep/n.txt', content: 'one' })).toMatchObject({ success: true, metadata: { path: '/new/deep/n.txt', size: 3 } });
    await t.call('cp__write_file', { path: 'new/deep/n.txt', content: '+two', append: true });
    expect(readFileSync(join(dir, 'work/new/deep/n.txt'), 'utf8')).toBe('one+two');
    expect(await t.call('cp__list_files', { dir: '.' })).toEqual({ files: ['a.txt', 'bin.dat', 'link.txt', 'out'] });
    expect(await t.call('cp__list_files', { dir: '.', recursive: true, exclude: ['**/*.log', '*.dat'] })).toEqual({ files: ['a.txt', 'link.txt', 'new/deep/n.txt', 'out', 'sub/b.md'] });
  });

  it('refuses .., absolute paths outside the roots, symlinks out of the root, binary files and directories', async () => {
    expect(await failure(t.call('cp__read_file', { path: '../compozy.yaml' }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'PermissionDenied' });
    expect(await failure(t.call('cp__read_file', { path: join(outside, 'secret.txt') }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__read_file', { path: 'link.txt' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__write_file', { path: 'out/planted.txt', content: 'x' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(await failure(t.call('cp__list_files', { dir: 'out' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__read_file', { path: 'bin.dat' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__read_file', { path: 'sub' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__read_file', { path: 'missing.txt' }))).toMatchObject({ go: 'FileNotFound' });
    expect(await failure(t.call('cp__read_file', {}))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'InvalidArgument' });
  });

  it('never reads, writes or lists the state folder, also when it is inside the root', async () => {
    const root = config('    enabled: true\n', { 'a.txt': 'a', '.compozy/store.db': 'state' });
    const p = tools(root.native, root.dir);
    expect(await failure(p.call('cp__read_file', { path: '.compozy/store.db' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(p.call('cp__write_file', { path: '.compozy/x', content: 'x' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(p.call('cp__write_file', { path: 'sub/../.compozy/y', content: 'x' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(existsSync(join(root.dir, '.compozy/x'))).toBe(false);
    expect((await p.call('cp__list_files', { dir: '.', recursive: true })).files).toEqual(['a.txt', 'compozy.yaml']);
    symlinkSync(join(root.dir, '.compozy'), join(root.dir, 'state-link'));
    expect(await failure(p.call('cp__read_file', { path: 'state-link/store.db' }))).toMatchObject({ go: 'PermissionDenied' });
  });

  it('additional_roots are allowed by absolute path', async () => {
    const extra = tempDir('compozy-extra-');
    writeFileSync(join(extra, 'e.txt'), 'extra');
    const { dir: d, native: n } = config(`    additional_roots: [${JSON.stringify(extra)}]\n`);
    expect((await tools(n, d).call('cp__read_file', { path: join(extra, 'e.txt') })).content).toBe('extra');
  });
});

describe('cp__exec', () => {
  const script = (name: string, body: string) => ({ [`bin/${name}`]: `#!/bin/sh\n${body}\n` });
  const files = { ...script('hello', 'echo "hi $1 $GREETING"; pwd'), ...script('loud', 'head -c 300 /dev/zero | tr "\\0" a; echo oops >&2; exit 3'), ...script('slow', 'sleep 5'), 'data/x.txt': 'x' };

  function execConfig(extra = ''): { dir: string; t: NativeTools } {
    const dir = writeFiles(files);
    writeFileSync(
      join(dir, 'compozy.yaml'),
      `name: n\nruntime:\n  native_tools:\n    exec:\n      max_stdout_bytes: 200\n      timeout: 10s\n      allowlist:\n        - path: ${dir}/bin/hello\n          arguments:\n            - index: 0\n              enum: [world, there]\n        - path: ${dir}/bin/loud\n        - path: ${dir}/bin/slow\n          timeout: 200ms\n${extra}`,
    );
    for (const name of ['hello', 'loud', 'slow']) chmodSync(join(dir, 'bin', name), 0o755);
    const { project, diagnostics } = loadProjectConfig(dir);
    expect(diagnostics).toEqual([]);
    return { dir, t: tools(project!.runtime.nativeTools!, dir) };
  }

  it('runs an allowlisted command in the root with env, and reports the Go engine output shape', async () => {
    const { dir, t } = execConfig();
    const result = await t.call('cp__exec', { command: join(dir, 'bin/hello'), args: ['world'], env: { GREETING: 'friend' }, working_dir: 'data' });
    expect(result).toMatchObject({ stdout: `hi world friend\n${join(dir, 'data')}\n`, stderr: '', exit_code: 0, success: true, timed_out: false, stdout_truncated: false, stderr_truncated: false });
    expect(typeof result.duration_ms).toBe('number');
  });

  it('caps stdout and stderr, reports a non-zero exit without failing, and kills a command at its timeout', async () => {
    const { dir, t } = execConfig();
    expect(await t.call('cp__exec', { command: join(dir, 'bin/loud') })).toMatchObject({ stdout: 'a'.repeat(200), stdout_truncated: true, stderr: 'oops\n', exit_code: 3, success: false });
    expect(await t.call('cp__exec', { command: join(dir, 'bin/slow') })).toMatchObject({ exit_code: -1, success: false, timed_out: true });
  });

  it('refuses a command not on the allow-list, arguments outside the rules, paths out of the root, and a working_dir in .compozy', async () => {
    const { dir, t } = execConfig();
    expect(await failure(t.call('cp__exec', { command: '/bin/rm', args: ['-rf', '.'] }))).toMatchObject({ code: 'TOOL_INPUT_INVALID', go: 'CommandNotAllowed' });
    expect(await failure(t.call('cp__exec', { command: 'hello' }))).toMatchObject({ go: 'CommandNotAllowed' });
    expect(await failure(t.call('cp__exec', { command: join(dir, 'bin/hello'), args: ['mars'] }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__exec', { command: join(dir, 'bin/hello') }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t.call('cp__exec', { command: join(dir, 'bin/hello'), args: ['world', 'x'] }))).toMatchObject({ go: 'InvalidArgument' });
    const cat = [...commandPolicies(config('    enabled: true\n').native).keys()].find((p) => basename(p) === 'cat');
    expect(cat).toBeDefined();
    expect(await failure(t.call('cp__exec', { command: cat, args: ['../../etc/passwd'] }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__exec', { command: cat, args: ['/etc/passwd'] }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__exec', { command: cat, args: ['a;b'] }))).toMatchObject({ go: 'InvalidArgument' });
    mkdirSync(join(dir, '.compozy'), { recursive: true });
    expect(await failure(t.call('cp__exec', { command: cat, working_dir: '.compozy' }))).toMatchObject({ go: 'PermissionDenied' });
    expect(await failure(t.call('cp__exec', { command: cat, args: ['.compozy/store.db'] }))).toMatchObject({ go: 'PermissionDenied' });
    expect((await t.call('cp__exec', { command: cat, args: ['data/x.txt'] })).stdout).toBe('x');
  });
});

describe('cp__fetch', () => {
  let server: Server;
  let base = '';
  const seen: Array<{ method: string; url: string; body: string; type: string | undefined }> = [];
  const read = (r: IncomingMessage) => new Promise<string>((done) => { let d = ''; r.on('data', (c: Buffer) => (d += c)); r.on('end', () => done(d)); });
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: await read(req), type: req.headers['content-type'] });
      if (req.url === '/r1') return res.writeHead(302, { location: '/r2' }).end();
      if (req.url === '/r2') return res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/hang') return;
      res.writeHead(200, { 'x-custom': 'yes' }).end('0123456789abcdefghijklmnop');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));
  const t = () => {
    const project = loadValidProject(FIXTURE);
    return tools(project.runtime.nativeTools!, FIXTURE);
  };

  it('returns the Go engine output shape with the body cut at max_body_bytes, and sends an object body as JSON', async () => {
    const result = await t().call('cp__fetch', { url: `${base}/ok`, method: 'post', body: { a: 1 } });
    expect(result).toMatchObject({ status_code: 200, status_text: '200 OK', body: '0123456789abcdef', body_truncated: true });
    expect((result.headers as Record<string, string>)['X-Custom']).toBe('yes');
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}', type: 'application/json' });
  });

  it('follows at most max_redirects, then returns the redirect itself', async () => {
    expect(await t().call('cp__fetch', { url: `${base}/r1` })).toMatchObject({ status_code: 302 });
  });

  it('refuses a method off the list, a GET body, another scheme, and fails at its timeout', async () => {
    expect(await failure(t().call('cp__fetch', { url: `${base}/ok`, method: 'DELETE' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t().call('cp__fetch', { url: `${base}/ok`, body: 'x' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t().call('cp__fetch', { url: 'file:///etc/passwd' }))).toMatchObject({ go: 'InvalidArgument' });
    expect(await failure(t().call('cp__fetch', { url: `${base}/hang`, timeout_ms: 100 }))).toMatchObject({ code: 'TOOL_FAILED', go: 'Internal' });
  });
});

describe('an agent calls a built-in tool', () => {
  it('the model is offered the cp__ tools, calls cp__read_file, and gets the file back (OpenAI wire format, tool task path through the tool invoker)', async () => {
    const requests: Array<Record<string, unknown>> = [];
    const model = createServer(async (req, res) => {
      const body = JSON.parse(await new Promise<string>((done) => { let d = ''; req.on('data', (c: Buffer) => (d += c)); req.on('end', () => done(d)); })) as Record<string, unknown>;
      requests.push(body);
      const message = requests.length === 1
        ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'cp__read_file', arguments: JSON.stringify({ path: 'notes/hello.txt' }) } }] }
        : { role: 'assistant', content: 'The note says hello.' };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'local-model', choices: [{ index: 0, message, finish_reason: requests.length === 1 ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
    await new Promise<void>((done) => model.listen(0, '127.0.0.1', done));
    const address = model.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
    try {
      const dir = tempDir('compozy-native-agent-');
      cpSync(FIXTURE, dir, { recursive: true });
      const project = loadValidProject(dir);
      const resources = resourceIndex(project);
      const invoker = toolInvoker(project, { resources } as unknown as EngineProject, { defaultTimeoutMs: 5000, poolSize: 1, log: () => {}, runsTasks: false });
      expect(await invoker.call('cp__read_file', { path: 'notes/hello.txt' }, {})).toMatchObject({ content: 'hello from the workspace\n' });
      const agents = new LlmAgents({ projectDir: dir, models: project.models, resources, tools: invoker, env: { LLM_URL: url, LLM_KEY: 'k' }, nativeTools: nativeToolSpecs(project.runtime.nativeTools!) });
      const result = await agents.run({ agentId: 'reader', actionId: 'summarize', input: { path: 'notes/hello.txt' }, context: {} });
      expect(result.output).toEqual({ response: 'The note says hello.' });
      const offered = (requests[0]?.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name).sort();
      expect(offered).toEqual(['cp__agent_orchestrate', 'cp__call_agent', 'cp__call_agents', 'cp__call_task', 'cp__call_tasks', 'cp__call_workflow', 'cp__call_workflows', 'cp__delete_file', 'cp__describe_agent', 'cp__exec', 'cp__fetch', 'cp__grep', 'cp__list_agents', 'cp__list_dir', 'cp__list_files', 'cp__read_file', 'cp__write_file']);
      const toolMessage = (requests[1]?.messages as Array<{ role: string; content: unknown }>).find((m) => m.role === 'tool');
      expect(JSON.stringify(toolMessage?.content)).toContain('hello from the workspace');
    } finally {
      await new Promise<void>((done) => model.close(() => done()));
    }
  });
});

describe('the call tools start child executions through the engine (test/fixtures/compat/native-tools, Temporal test server)', () => {
  let env: TestEnvironment;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('compozy-native-calls-');
    cpSync(FIXTURE, dir, { recursive: true });
    env = await createTestEnvironment({
      project: dir,
      temporal: { bin: inject('temporalBin') },
      models: { answers: ({ agent, input }) => (agent === 'reader' ? `summary of ${String(input.path)}` : undefined) },
    });
  }, 90_000);
  afterAll(async () => {
    await env?.teardown();
  });

  it('cp__call_workflow, cp__call_agent, cp__call_agents and cp__call_task from tool tasks, in the Go engine output shapes', async () => {
    const run = await env.run('calls', { name: 'ana' });
    run.expectStatus('SUCCESS');
    const out = run.output as Record<string, Record<string, unknown>>;
    expect(out.child).toMatchObject({ success: true, workflow_id: 'child', status: 'SUCCESS', output: { path: '/out/ana.txt' } });
    expect(readFileSync(join(dir, 'workspace/out/ana.txt'), 'utf8')).toBe('hello ana');
    const child = await env.execution(String(out.child?.workflow_exec_id));
    expect(child).toMatchObject({ workflowId: 'child', status: 'SUCCESS' });
    expect(out.agent).toMatchObject({ success: true, agent_id: 'reader', action_id: 'summarize', response: { response: 'summary of notes/hello.txt' } });
    expect(typeof out.agent?.exec_id).toBe('string');
    const agents = out.agents as { results: Array<Record<string, unknown>>; total_count: number; success_count: number; failure_count: number };
    expect(agents).toMatchObject({ total_count: 2, success_count: 1, failure_count: 1 });
    expect(agents.results[0]).toMatchObject({ success: true, agent_id: 'reader', response: { response: 'summary of notes/other.txt' } });
    expect(agents.results[1]).toMatchObject({ success: false, agent_id: 'nobody', error: { code: 'AGENT_NOT_FOUND' } });
    expect(out.task).toMatchObject({ success: true, task_id: 'list_notes', output: { files: ['hello.txt', 'other.txt'] } });
    expect(out.tasks).toMatchObject({ total_count: 2, success_count: 1, failure_count: 1, results: [{ success: true, task_id: 'list_notes', output: { files: ['hello.txt', 'other.txt'] } }, { success: false, task_id: 'no_such_task', error: { code: 'TASK_NOT_FOUND' } }] });
    expect(out.workflows).toMatchObject({ total_count: 2, success_count: 2, results: [{ success: true, workflow_id: 'child', status: 'SUCCESS', output: { path: '/out/bo.txt' } }, { success: true, workflow_id: 'child', output: { path: '/out/cy.txt' } }] });
    expect(readFileSync(join(dir, 'workspace/out/cy.txt'), 'utf8')).toBe('hello cy');
  }, 90_000);

  it('cp__list_agents, cp__describe_agent, cp__grep, cp__list_dir and a cp__agent_orchestrate plan (each agent step a child execution) from tool tasks', async () => {
    const run = await env.run('orchestrate', {});
    run.expectStatus('SUCCESS');
    const out = run.output as Record<string, Record<string, unknown>>;
    expect(out.agents).toEqual({ agents: [{ agent_id: 'reader', actions: ['summarize'] }] });
    expect(out.reader).toEqual({ agent_id: 'reader', actions: [{ id: 'summarize', prompt: 'Read {{ .input.path }} with cp__read_file and summarize it.' }] });
    expect(out.grep).toEqual({ matches: [{ file: '/notes/hello.txt', line: 1, column: 16, text: 'hello from the workspace' }, { file: '/notes/other.txt', line: 1, column: 9, text: 'another note' }] });
    expect((out.files?.entries as Array<{ path: string }>).map((e) => e.path)).toEqual(expect.arrayContaining(['/notes/hello.txt', '/notes/other.txt']));
    expect(out.plan).toMatchObject({
      success: true,
      steps: [
        { id: 'first', type: 'agent', status: 'success', output: { response: 'summary of notes/hello.txt' } },
        { id: 'both', type: 'parallel', status: 'success', children: [{ id: 'both[0]', status: 'success', output: { response: 'summary of notes/other.txt' } }, { id: 'both[1]', status: 'success' }] },
      ],
      bindings: { hello: { response: 'summary of notes/hello.txt' }, again: { response: 'summary of notes/hello.txt' } },
    });
    expect(out.plan?.errors).toBeUndefined();
    const child = await env.execution(String((out.plan?.steps as Array<{ exec_id: string }>)[0]?.exec_id));
    expect(child).toMatchObject({ status: 'SUCCESS' });
  }, 90_000);

  it('a child that does not end within timeout_ms fails the call with TOOL_TIMEOUT and is canceled', async () => {
    const run = await env.run('impatient', {});
    run.expectStatus('FAILED');
    expect(run.error).toMatchObject({ code: 'TOOL_TIMEOUT' });
    const child = /execution (\w+), canceled/.exec(String(run.error?.message))?.[1];
    expect(child).toBeDefined();
    for (let i = 0; i < 100 && (await env.execution(child as string)).status !== 'CANCELED'; i++) await new Promise((done) => setTimeout(done, 50));
    expect((await env.execution(child as string)).status).toBe('CANCELED');
  }, 90_000);
});
