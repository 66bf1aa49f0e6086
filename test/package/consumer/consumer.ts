// A TypeScript project's view of the package: every entry point by name, with its types, checked by
// tsc under moduleResolution nodenext and bundler (strict, no skipLibCheck).
import { setup } from 'xstate';
import fc from 'fast-check';
import {
  createNode,
  startSupervisor,
  worker,
  reply,
  GovernorError,
  CallTimeoutError,
  type ChildSpec,
  type Pid,
  type SupervisorSpec,
} from '@governorjs/governor';
import { startBullmqNode, GovernorProducer, IdempotencyKeyReusedError, type BullmqNodeOptions, type StopReport } from '@governorjs/governor/redis';
import {
  parseLifecycleEvent,
  startMarketplace,
  enqueueEvents,
  lifecycleJobJsonSchema,
  EnqueueError,
  type LifecycleEvent,
  type EnqueueTarget,
  type Marketplace,
  type Outcome,
} from '@governorjs/governor/marketplace';
import { SimulatedClock, machineProperty, type MachineCheckModule } from '@governorjs/governor/testing';

const machine = setup({ types: {} as { context: { n: number }; events: { type: 'get' } } }).createMachine({
  context: { n: 0 },
  on: { get: { actions: reply(({ context }) => context.n) } },
});

const spec: ChildSpec = worker('counter', machine, { name: 'counter' });
const tree: SupervisorSpec = { strategy: 'one_for_one', intensity: 1, period: 5, children: [spec] };
const clock = new SimulatedClock();
const node = createNode({ clock });
const root: Pid = startSupervisor(node, tree);
const n: unknown = await node.call('counter', { type: 'get' }, { timeout: 1_000 });

const market: Marketplace = startMarketplace(node, { pseudonymKey: 'a key of sixteen+ bytes' });
const parsed = parseLifecycleEvent({ type: 'CustomerCancels' });
const event: LifecycleEvent | undefined = parsed.ok ? parsed.event : undefined;
const target: EnqueueTarget = { url: 'redis://127.0.0.1:6379', batch: 100 };
const enqueue: (() => Promise<{ ids: string[] }>) | undefined = event ? () => enqueueEvents(target, [event]) : undefined;
const outcome: Promise<Outcome> | undefined = undefined;
const schema: Record<string, unknown> = lifecycleJobJsonSchema();

const options: BullmqNodeOptions = { url: 'redis://127.0.0.1:6379', kinds: [{ kind: 'Counter', machine }] };
const start: typeof startBullmqNode = startBullmqNode;
const connect: typeof GovernorProducer.connect = GovernorProducer.connect;
const report: StopReport | undefined = undefined;

const check: MachineCheckModule = { machine, events: fc.array(fc.constant({ type: 'get' })), invariants: () => {} };
fc.assert(machineProperty(check), { numRuns: 1 });

const errorCode = (error: unknown): string | undefined =>
  error instanceof CallTimeoutError || error instanceof IdempotencyKeyReusedError ? error.code : error instanceof GovernorError ? error.code : undefined;
const enqueueExit = (error: unknown): number | undefined => (error instanceof EnqueueError ? error.exitCode : undefined);

await market.stop();
await node.stop();
export { root, n, enqueue, outcome, schema, options, start, connect, report, errorCode, enqueueExit };
