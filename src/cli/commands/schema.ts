import type { Command } from 'commander';

export function schemaCommand(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of lifecycle events (or, with --job, of the BullMQ job data that carries one), for producers in any language')
    .option('--job', 'the JSON Schema of a lifecycle job\'s data (schemas/lifecycle-job.schema.json), for producers writing to the queues directly')
    .action(async (options: { job?: boolean }) => {
      // Imported when asked for: the schemas are built from zod, which `governor --help` need not load.
      const text = options.job ? (await import('../enqueue/lifecycle-job-schema.ts')).lifecycleJobJsonSchemaText() : (await import('../../marketplace/event-json-schema.ts')).lifecycleEventJsonSchemaText();
      process.stdout.write(`${text}\n`);
    });
}
