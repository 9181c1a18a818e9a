import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, projectEnv } from '../../src/config/settings.js';
import { CompozyError } from '../../src/errors.js';
import { tempDir } from '../helpers/fake-bin.js';

describe('settings precedence', () => {
  const document = { name: 'p', server: { port: 7000 }, mode: 'standalone', redis: { url: 'redis://file:6379' } };

  it('flags beat environment, which beats the file, which beats defaults, each remembering its source', () => {
    const env = { SERVER_PORT: '6000', REDIS_URL: 'redis://env:6379' };
    const settings = loadSettings({ document }, { port: '5005' }, env);
    expect(settings.serverPort).toEqual({ value: 5005, source: 'flag', origin: '--port' });
    expect(loadSettings({ document }, {}, env).serverPort).toEqual({ value: 6000, source: 'env', origin: 'SERVER_PORT' });
    expect(loadSettings({ document }, {}, {}).serverPort).toEqual({ value: 7000, source: 'file', origin: 'server.port' });
    expect(loadSettings({ document: { name: 'p' } }, {}, {}).serverPort).toEqual({ value: 5001, source: 'default', origin: 'default' });
    expect(settings.redisUrl.value).toBe('redis://env:6379');
  });

  it('accepts STANDALONE_MODE=true as an alias and rejects unknown modes with a hint', () => {
    expect(loadSettings({ document: { name: 'p' } }, {}, { STANDALONE_MODE: 'true' }).mode).toEqual({ value: 'persistent', source: 'env', origin: 'STANDALONE_MODE' });
    const error = (() => {
      try {
        loadSettings({ document: { name: 'p' } }, { mode: 'ephemeral' }, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CompozyError);
    expect((error as CompozyError).message).toContain('--mode must be "memory", "persistent" or "distributed" ("standalone" is persistent)');
  });

  it('runtime and limits settings validate their values', () => {
    const defaults = loadSettings({ document: { name: 'p' } }, {}, {});
    expect(defaults.toolExecutionTimeout).toEqual({ value: '60s', source: 'default', origin: 'default' });
    expect(defaults.maxNestingDepth.value).toBe(20);
    expect(loadSettings({ document: { name: 'p', runtime: { tool_execution_timeout: '2m' } } }, {}, {}).toolExecutionTimeout).toEqual({ value: '2m', source: 'file', origin: 'runtime.tool_execution_timeout' });
    expect(() => loadSettings({ document: { name: 'p' } }, {}, { TOOL_EXECUTION_TIMEOUT: 'soon' })).toThrow(/TOOL_EXECUTION_TIMEOUT must be a duration/);
    expect(() => loadSettings({ document: { name: 'p', database: { driver: 'mysql' } } }, {}, {})).toThrow(/database.driver in compozy.yaml must be "sqlite" or "postgres"/);
    expect(defaults.toolPoolSize.value).toBe(2);
    expect(loadSettings({ document: { name: 'p', runtime: { pool_size: 4 } } }, {}, {}).toolPoolSize).toEqual({ value: 4, source: 'file', origin: 'runtime.pool_size' });
    expect(() => loadSettings({ document: { name: 'p' } }, {}, { TOOL_POOL_SIZE: '0' })).toThrow(/TOOL_POOL_SIZE must be a positive integer/);
    expect(defaults.structuredOutputRetries.value).toBe(2);
    expect(loadSettings({ document: { name: 'p' } }, {}, { LLM_STRUCTURED_OUTPUT_RETRIES: '0' }).structuredOutputRetries).toEqual({ value: 0, source: 'env', origin: 'LLM_STRUCTURED_OUTPUT_RETRIES' });
    expect(() => loadSettings({ document: { name: 'p', llm: { structured_output_retries: -1 } } }, {}, {})).toThrow(/must be a whole number ≥ 0/);
  });

  it('rejects a port that is not a port', () => {
    expect(() => loadSettings({ document: { name: 'p', server: { port: 'abc' } } }, {}, {})).toThrow(/server.port in compozy.yaml must be a TCP port/);
  });

  it('.env fills in variables without overriding the real environment', () => {
    const dir = tempDir('dotenv');
    writeFileSync(join(dir, '.env'), 'GROQ_API_KEY=from-file\nOTHER=file\n');
    const env = projectEnv(dir, { OTHER: 'real' });
    expect(env.GROQ_API_KEY).toBe('from-file');
    expect(env.OTHER).toBe('real');
  });
});
