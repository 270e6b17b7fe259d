import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { emittedSchemaText, SCHEMA_FILE } from '../../scripts/emit-schema';
import { FieldSchema, ROOT_SCHEMA } from '../../src/server/schema-info';

test('schemas/rpg.schema.json is the emitted schema (run `npm run schema` after changing src/config/schema.ts)', () => {
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
