/**
 * `@governorjs/governor/testing`: what a project needs to test its own machines and actors.
 *
 * - Time without sleeping: a node on a {@link SimulatedClock} fires state, event and generic
 *   timeouts (and supervisor restart backoff) only when the test moves the clock.
 * - In-memory transport and store, to run several nodes or restore entities inside one test.
 * - The property `governor check --machine` runs, for the project's own test runner: every event
 *   sequence fast-check generates keeps every invariant, by pure XState steps.
 *
 * @example
 * import { createNode } from '@governorjs/governor';
 * import { SimulatedClock, machineProperty } from '@governorjs/governor/testing';
 * const clock = new SimulatedClock();
 * const node = createNode({ clock });
 * clock.advance(10_000); // the door's state timeout fires
 * fc.assert(machineProperty({ machine, events, invariants }));
 */
export { SimulatedClock, systemClock } from './runtime/clock.ts';
export type { Clock } from './runtime/clock.ts';
export { MemoryTransport } from './transport/memory.ts';
export { MemoryStore } from './store/memory-store.ts';
export { machineProperty, minimalSequence, InvariantViolation, DEFAULT_MACHINE_RUNS } from './cli/check/machine.ts';
export type { MachineCheckModule, Stepper } from './cli/check/machine.ts';
