import type { Command } from 'commander';
import { lifecycleEventJsonSchemaText } from '../../marketplace/event-json-schema.ts';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of lifecycle events, for producers in any language')
    .action(() => {
      process.stdout.write(`${lifecycleEventJsonSchemaText()}\n`);
    });
}
