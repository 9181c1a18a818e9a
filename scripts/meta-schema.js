// Part of `npm run build`: the validator of JSON Schema's draft-07 meta-schema, which checks every
// schema a project declares, compiled by Ajv now (its standalone code) rather than by the first
// check in every compozy process (~35 ms of each start). src/platform/schema-validator.ts loads it.
import { writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { DRAFT_07, PRECOMPILED_DRAFT_07, SCHEMA_AJV_OPTIONS } from '../dist/platform/schema-validator.js';

const ajv = new Ajv({ ...SCHEMA_AJV_OPTIONS, code: { source: true } });
writeFileSync(PRECOMPILED_DRAFT_07, standaloneCode(ajv, ajv.getSchema(DRAFT_07)));
console.log(`meta-schema: ${DRAFT_07} validator written to dist/platform`);
