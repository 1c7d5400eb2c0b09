// Generates config/freshet.schema.json from the zod schema, for editor completion:
// `# yaml-language-server: $schema=./freshet.schema.json` at the top of a config file.
// `npm run config:schema` rewrites it; a unit test fails when it is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const schemaFile = fileURLToPath(new URL('./freshet.schema.json', import.meta.url));

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  return `${JSON.stringify({ ...schema, title: 'Freshet configuration' }, null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(schemaFile, configJsonSchema());
  console.log(`wrote ${schemaFile}`);
}
