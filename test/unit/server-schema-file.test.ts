import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { emittedSchemaText, SCHEMA_FILE } from '../../scripts/emit-schema';
import { DIAGNOSTIC_CODES } from '../../src/server/findings';
import { FieldSchema, ROOT_SCHEMA } from '../../src/server/schema-info';

test('schemas/rpg.schema.json is the emitted schema (run `npm run schema` after changing src/core/config/schema.ts)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), emittedSchemaText());
});

test('every field has a description and examples, and a default unless it is optional', () => {
  const missing: string[] = [];
  const walk = (s: FieldSchema, path: string, required: readonly string[]): void => {
    for (const [key, field] of Object.entries(s.properties ?? {})) {
      const name = path ? `${path}.${key}` : key;
      if (name === '$schema') continue;
      if (!field.description) missing.push(`${name}: description`);
      if (field.type === 'object') {
        walk(field, name, field.required ?? []);
        continue;
      }
      if (!field.examples?.length) missing.push(`${name}: examples`);
      // Optional fields without a default say in their description what absence means.
      if (field.default === undefined && !required.includes(key) && !/default|defaults|required|free text/i.test(field.description ?? '')) missing.push(`${name}: default`);
    }
  };
  walk(ROOT_SCHEMA, '', ROOT_SCHEMA.required ?? []);
  assert.deepEqual(missing, []);
});

test('the root accepts $schema', () => {
  assert.equal(ROOT_SCHEMA.properties?.$schema?.type, 'string');
});

test('docs/config-and-diagnostics.md documents every diagnostic code under "## Diagnostic codes"', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'config-and-diagnostics.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Diagnostic codes'));
  assert.ok(doc.includes('## Diagnostic codes'));
  assert.deepEqual(DIAGNOSTIC_CODES.filter((code) => !section.includes(`\n### ${code}\n`)), []);
});
