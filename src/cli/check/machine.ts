import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { CliError } from '../exit-codes.ts';

/**
 * `governor check --machine <module>`: fast-check over one user machine, alone, by pure XState
 * stepping (`initialTransition`, then `transition` per event; actions are not executed).
 *
 * The module exports:
 * - `machine`: an XState v5 machine;
 * - `events`: a fast-check arbitrary of event arrays (each array is one run from the initial
 *   state), or of `fc.commands(...)` whose commands' `run(model, real)` get the same object
 *   twice: `{ machine, snapshot, send(event) }` (`send` steps the machine and checks the invariants);
 * - `invariants(snapshot)`: throws when the snapshot breaks one (checked after every step).
 * Optionally `input` (the machine's input) and `runs` (the default number of runs, else
 * {@link DEFAULT_MACHINE_RUNS}).
 *
 * Bugs sit at limits: build `events` from fast-check's own biased arbitraries (`fc.integer({ min,
 * max })` with the declared range, `fc.nat(max)`), which lean towards 0, ±1 and the bounds of the
 * range, rather than `fc.constantFrom` of numbers or numbers computed in a `.map`, which do not.
 */
export interface MachineCheckModule {
  readonly machine: AnyStateMachine;
  readonly events: fc.Arbitrary<unknown>;
  readonly invariants: (snapshot: AnyMachineSnapshot) => void;
  readonly input?: unknown;
  readonly runs?: number;
}

export { DEFAULT_MACHINE_RUNS } from './defaults.ts';

/** A user's invariant broke: after which step, and its message. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvariantViolation';
  }
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;
let tsxRegistered = false;

/**
 * Makes a TypeScript `--machine` module loadable. From the sources (this file is `.ts`) a loader is
 * already there. Built, tsx is no dependency of Governor: the project's own tsx is registered when
 * it has one (what the command always did), else Node's own type stripping (Node ≥ 22.18) is left
 * to load it, else the user is told what to do instead of getting Node's "unknown file extension".
 */
async function loadTypeScriptWith(path: string): Promise<void> {
  if (!TYPESCRIPT_FILE.test(path) || import.meta.url.endsWith('.ts') || tsxRegistered) return;
  try {
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    if ((process.features as { typescript?: unknown }).typescript) return;
    throw new CliError(
      `--machine: ${path} is TypeScript, which Node ${process.version} cannot load by itself: install tsx in your project (npm install --save-dev tsx), or pass the module compiled to JavaScript`,
    );
  }
}

/** Loads and checks the shape of a `--machine` module; anything wrong is exit 2 with the reason. */
export async function loadMachineModule(path: string): Promise<MachineCheckModule> {
  const file = resolve(path);
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`--machine: no such file: ${path}`);
  await loadTypeScriptWith(path);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`--machine: cannot load ${path}: ${describe(error)}`);
  }
  const mod = (loaded.default && typeof loaded.default === 'object' && !('machine' in loaded) ? loaded.default : loaded) as Record<string, unknown>;
  const machine = mod.machine as { transition?: unknown; config?: unknown } | undefined;
  if (!machine || typeof machine !== 'object' || typeof machine.transition !== 'function') {
    throw new CliError(`--machine: ${path} must export \`machine\`, an XState v5 machine`);
  }
  const events = mod.events as { generate?: unknown } | undefined;
  if (!events || typeof events !== 'object' || typeof events.generate !== 'function') {
    throw new CliError(`--machine: ${path} must export \`events\`, a fast-check arbitrary of event arrays (or of fc.commands)`);
  }
  if (typeof mod.invariants !== 'function') throw new CliError(`--machine: ${path} must export \`invariants(snapshot)\`, a function that throws when one is broken`);
  if (mod.runs !== undefined && !(Number.isSafeInteger(mod.runs) && (mod.runs as number) > 0)) throw new CliError(`--machine: ${path}: \`runs\` must be a positive integer`);
  return mod as unknown as MachineCheckModule;
}

/** The machine being stepped, as commands see it. */
export interface Stepper {
  readonly machine: AnyStateMachine;
  snapshot: AnyMachineSnapshot;
  /** How many events were sent. */
  steps: number;
  send(event: EventObject): void;
}

function stepper(mod: MachineCheckModule): Stepper {
  const invariants = (snapshot: AnyMachineSnapshot, where: string) => {
    try {
      mod.invariants(snapshot);
    } catch (error) {
      throw new InvariantViolation(`${where}: state ${JSON.stringify(snapshot.value)}: ${describe(error)}`);
    }
  };
  const [initial] = initialTransition(mod.machine, mod.input);
  invariants(initial, 'in the initial state');
  const self: Stepper = {
    machine: mod.machine,
    snapshot: initial,
    steps: 0,
    send(event) {
      self.steps += 1;
      let next: AnyMachineSnapshot;
      try {
        [next] = transition(mod.machine, self.snapshot, event);
      } catch (error) {
        throw new InvariantViolation(`event ${self.steps} ${JSON.stringify(event)} threw: ${describe(error)}`);
      }
      self.snapshot = next;
      invariants(next, `after event ${self.steps} ${JSON.stringify(event)}`);
    },
  };
  return self;
}

/** The property over one user machine: every generated event sequence keeps every invariant. */
export function machineProperty(mod: MachineCheckModule, onRun?: () => void) {
  return fc.property(mod.events, (value) => {
    onRun?.();
    const machine = stepper(mod);
    if (Array.isArray(value)) {
      for (const event of value) machine.send(event as EventObject);
      return;
    }
    fc.modelRun(() => ({ model: machine, real: machine }), value as Iterable<fc.Command<Stepper, Stepper>>);
  });
}

/**
 * The failing event sequence with every event that can go removed, one at a time until none can
 * (1-minimal: no single event of it is needless). fast-check's shrinking gives a local minimum;
 * this makes sure the printed sequence holds only events the failure needs.
 */
export function minimalSequence(mod: MachineCheckModule, events: readonly unknown[]): { events: unknown[]; error: string } {
  const failure = (sequence: readonly unknown[]): string | undefined => {
    try {
      const machine = stepper(mod);
      for (const event of sequence) machine.send(event as EventObject);
      return undefined;
    } catch (error) {
      return describe(error);
    }
  };
  let current = [...events];
  let error = failure(current);
  if (error === undefined) return { events: current, error: 'the sequence no longer fails' };
  for (let i = 0; i < current.length; ) {
    const shorter = [...current.slice(0, i), ...current.slice(i + 1)];
    const shorterError = failure(shorter);
    if (shorterError === undefined) i += 1;
    else [current, error] = [shorter, shorterError];
  }
  return { events: current, error };
}
