import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics } from '../../src/config/validate.js';

function problems(compozy: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'settings-keys-'));
  writeFileSync(join(dir, 'compozy.yaml'), compozy);
  return sortDiagnostics(loadProjectConfig(dir).diagnostics).map((d) => `${d.line}:${d.col} ${d.key}: ${d.message} | ${d.hint}`);
}

describe('every key of compozy.yaml is read or refused', () => {
  it('the settings compozy reads, and the project fields, pass', () => {
    expect(
      problems(`name: p
version: 1.0.0
author: { name: me }
mode: memory
server: { host: 127.0.0.1, port: 5001, auth: { enabled: false }, rate_limit: { requests: 10, period: 1m } }
temporal: { host_port: localhost:7233, namespace: default, task_queue: q, mode: memory }
redis: { url: redis://x:6379, mode: persistent, distributed: { addr: x:6379 } }
database: { driver: sqlite, path: ./.compozy/compozy.db }
llm: { structured_output_retries: 1 }
limits: { max_nesting_depth: 10 }
`),
    ).toEqual([]);
  });

  it('an unknown top-level key, an app setting nothing reads and a reference section compozy has no counterpart for are errors at their position', () => {
    expect(
      problems(`name: p
servers: { port: 1 }
server:
  port: 5001
  cors:
    allowed_origins: [http://localhost:3000]
  timeouts: { http_read: 15s }
database:
  ssl_mode: disable
worker: { config_store_ttl: 24h }
`),
    ).toEqual([
      '2:1 servers: Unknown top-level key "servers". | Did you mean "server"?',
      '5:3 server.cors: "server.cors" is not a setting compozy reads. | Remove it. The settings under server: are auth, host, port, rate_limit.',
      '7:3 server.timeouts: "server.timeouts" is not a setting compozy reads. | Remove it. The settings under server: are auth, host, port, rate_limit.',
      '9:3 database.ssl_mode: "database.ssl_mode" is not a setting compozy reads. | Remove it. The settings under database: are conn_string, driver, path, url.',
      '10:1 worker: The worker: settings of the reference are not supported. | The worker has no settings of its own here; remove worker:.',
    ]);
  });
});
