import { existsSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { compiledSchema, PRECOMPILED_DRAFT_07, SCHEMA_AJV_OPTIONS, schemaErrors, SchemaValidator } from '../../src/platform/schema-validator.js';

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

  it("checks schemas with the build's precompiled draft-07 validator, finding what Ajv's own validateSchema finds", () => {
    expect(existsSync(PRECOMPILED_DRAFT_07)).toBe(true);
    const reference = new Ajv(SCHEMA_AJV_OPTIONS);
    const schemas = [
      { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'] },
      { type: 'objekt', properties: { a: { type: 7 } }, required: 'a', minItems: -1 },
      { $schema: 'http://json-schema.org/draft-07/schema#', items: [{ type: 'string' }], additionalItems: 'no' },
      { anyOf: [], enum: [], pattern: 3, definitions: { x: { $ref: 5 } } },
    ];
    for (const schema of schemas) {
      const expected = reference.validateSchema(schema) ? undefined : reference.errors;
      expect(schemaErrors(schema), JSON.stringify(schema)).toEqual(expected);
    }
    expect(schemaErrors(schemas[1]!)?.length).toBeGreaterThan(3);
    // Compiling refuses an invalid schema with the words Ajv's own compile uses.
    for (const schema of schemas.slice(1)) {
      let refusal: unknown;
      try {
        new Ajv(SCHEMA_AJV_OPTIONS).compile(schema);
      } catch (error) {
        refusal = error;
      }
      expect(() => compiledSchema(schema)).toThrow((refusal as Error).message);
    }
  });

  it('says what makes a schema invalid by the meta-schema', () => {
    expect(schemaErrors({ type: 'object' })).toBeUndefined();
    expect(schemaErrors({ type: 'objekt' })?.length).toBeGreaterThan(0);
  });
});
