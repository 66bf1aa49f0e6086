import type { Command } from 'commander';

/** `governor machines`: the written-out governors as Mermaid state diagrams, generated from the code (no network). */
export function machinesCommand(program: Command): void {
  program
    .command('machines')
    .description('print each governor written out as an XState machine as a Mermaid state diagram (from xstate/graph), or --markdown for docs/machines.md')
    .option('--markdown', 'the whole of docs/machines.md')
    .action(async (options: { markdown?: boolean }) => {
      // Imported when run: the machines (and xstate) are not loaded for `governor --help`.
      const { DOMAIN_MACHINES, machinesMarkdown, mermaidStateDiagram } = await import('../../../machines/governors/machine-diagram.ts');
      const text = options.markdown ? machinesMarkdown() : `${DOMAIN_MACHINES.map((machine) => `%% ${machine.id}\n${mermaidStateDiagram(machine)}`).join('\n\n')}\n`;
      process.stdout.write(text);
    });
}
