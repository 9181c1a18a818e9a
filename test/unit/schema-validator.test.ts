import { describe, expect, it } from 'vitest';
import { compiledSchema, schemaErrors, SchemaValidator } from '../../src/platform/schema-validator.js';

describe('the process-wide compiled schemas', () => {
  it('compiles a schema once for every caller: the same content (Compozy id aside) is the same validator', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    expect(compiledSchema({ id: 'city_input', ...schema })).toBe(compiledSchema(structuredClone(schema)));
    expect(new SchemaValidator().problems(schema, {})).toEqual([{ path: '/', message: "must have required property 'city'", params: { missingProperty: 'city' } }]);
    expect(new SchemaValidator().problems(schema, { city: 'Porto' })).toEqual([]);
  });

  it('two different schemas with the same $id each validate by their own rules', () => {
    const numbers = { $id: 'https://example.com/shared', type: 'object', properties: { n: { type: 'integer' } } };
    const words = { $id: 'https://example.com/shared', type: 'object', properties: { n: { type: 'string' } } };
    const validator = new SchemaValidator();
    expect(validator.problems(numbers, { n: 1 })).toEqual([]);
    expect(validator.problems(words, { n: 'one' })).toEqual([]);
    expect(validator.problems(words, { n: 1 })).toHaveLength(1);
  });

  it('says what makes a schema invalid by the meta-schema', () => {
    expect(schemaErrors({ type: 'object' })).toBeUndefined();
    expect(schemaErrors({ type: 'objekt' })?.length).toBeGreaterThan(0);
  });
});
