import { describe, expect, it } from 'vitest';
import { resolveEnvReferences } from '../../src/config/secrets.js';
import { CompozyError } from '../../src/errors.js';

describe('environment references in values like api_key', () => {
  const env = { GROQ_API_KEY: 'gsk_123', OPENAI_API_KEY: 'sk-9' };

  it('resolves {{ .env.X }} and ${X}', () => {
    expect(resolveEnvReferences('{{ .env.GROQ_API_KEY }}', env, 'models[0].api_key')).toBe('gsk_123');
    expect(resolveEnvReferences('${OPENAI_API_KEY}', env, 'models[1].api_key')).toBe('sk-9');
    expect(resolveEnvReferences('Bearer ${OPENAI_API_KEY}', env, 'header')).toBe('Bearer sk-9');
    expect(resolveEnvReferences('plain', env, 'x')).toBe('plain');
  });

  it('names the missing variable instead of yielding an empty key', () => {
    for (const value of ['{{ .env.MISSING_KEY }}', '${MISSING_KEY}']) {
      try {
        resolveEnvReferences(value, env, 'models[0].api_key');
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CompozyError);
        expect((error as CompozyError).message).toBe('models[0].api_key needs MISSING_KEY, which is not set.');
        expect((error as CompozyError).hint).toContain(".env");
      }
    }
  });
});
