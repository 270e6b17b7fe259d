// Writes schemas/rpg.schema.json from the TypeScript declaration in src/core/config/schema.ts, the
// format's single source. `npm run schema` after changing the schema; a unit test
// (test/unit/server-schema-file.test.ts) fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { jsonSchemaDocument } from '../src/core/config/schema';

export const SCHEMA_FILE = path.resolve(__dirname, '..', 'schemas', 'rpg.schema.json');

export function emittedSchemaText(): string {
  return JSON.stringify(jsonSchemaDocument(), null, 2) + '\n';
}

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, emittedSchemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
