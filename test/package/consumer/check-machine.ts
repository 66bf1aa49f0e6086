// A `governor check --machine` module in TypeScript (erasable syntax only, so Node's own type
// stripping can load it where tsx is not installed).
import fc from 'fast-check';
import { setup, assign, type AnyMachineSnapshot } from 'xstate';

export const machine = setup({ types: {} as { context: { n: number }; events: { type: 'push' } } }).createMachine({
  context: { n: 0 },
  on: { push: { guard: ({ context }) => context.n < 3, actions: assign({ n: ({ context }) => context.n + 1 }) } },
});

export const events = fc.array(fc.constant({ type: 'push' as const }), { maxLength: 6 });

export function invariants(snapshot: AnyMachineSnapshot): void {
  if ((snapshot.context as { n: number }).n > 3) throw new Error('n went above 3');
}
