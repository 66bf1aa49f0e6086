import type { Command } from 'commander';
import { lifecycleEventJsonSchemaText } from '../../marketplace/event-json-schema.ts';
import { lifecycleJobJsonSchemaText } from '../enqueue/lifecycle-job-schema.ts';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of lifecycle events (or, with --job, of the BullMQ job data that carries one), for producers in any language')
    .option('--job', 'the JSON Schema of a lifecycle job\'s data (schemas/lifecycle-job.schema.json), for producers writing to the queues directly')
    .action((options: { job?: boolean }) => {
      process.stdout.write(`${options.job ? lifecycleJobJsonSchemaText() : lifecycleEventJsonSchemaText()}\n`);
    });
}
