import { spawn } from 'node:child_process';
import { BIN, REPO } from './cli.js';

/** Each step waits for `expect` in the terminal output, then types `send` (\r is Enter, \x03 is Ctrl-C, \x1b[B is ↓). */
export interface PtyStep {
  expect: string;
  send: string;
}

export interface PtyResult {
  code: number | null;
  output: string;
}

// A pseudo-terminal driver in Python's standard library: @inquirer/prompts only asks at a real TTY.
const DRIVER = String.raw`
import fcntl, json, os, pty, select, struct, sys, termios, time
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    # A terminal of 40 rows by 120 columns, as a person's would have (a new pty has 0 by 0).
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
    os.execvp(sys.argv[2], sys.argv[2:])
out = b''
def read(until=None, timeout=30.0):
    global out
    deadline = time.time() + timeout
    while until is None or until.encode() not in out:
        left = deadline - time.time()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return until is None
        if not chunk:
            return until is None
        out += chunk
    return True
failed = None
for step in steps:
    if not read(step['expect']):
        failed = step['expect']
        break
    os.write(fd, step['send'].encode())
if failed is None:
    read(None, 60.0)
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'output': out.decode('utf8', 'replace'), 'missing': failed}))
`;

/** Runs the compozy CLI at a pseudo-terminal (no CI, colour allowed), typing the steps. */
export function runCliAtTerminal(args: string[], steps: PtyStep[], env: NodeJS.ProcessEnv = {}, cwd = REPO): Promise<PtyResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, TERM: 'xterm-256color' };
  delete childEnv.CI;
  delete childEnv.NO_COLOR;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('python3', ['-c', DRIVER, JSON.stringify(steps), process.execPath, BIN, ...args], { cwd, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', () => {
      try {
        const result = JSON.parse(stdout) as PtyResult & { missing: string | null };
        if (result.missing !== null) reject(new Error(`the terminal never showed "${result.missing}":\n${result.output}`));
        else resolvePromise({ code: result.code, output: result.output });
      } catch {
        reject(new Error(`the pty driver failed: ${stderr}${stdout}`));
      }
    });
  });
}
