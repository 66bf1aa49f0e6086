import type { AnyStateMachine } from 'xstate';
import type { Address } from '../envelope.ts';
import type { Node } from '../node.ts';
import type { Pid } from '../pid.ts';
import { spawnStatem, type StatemOptions } from '../statem.ts';
import type { ChildSpec, SupervisorSpec } from './child-spec.ts';
import { startSupervisor, type ChildCounts, type ChildInfo, type SupervisorResult } from './supervisor.ts';

// The supervisor API is a set of calls, as in OTP: each waits its turn in the supervisor's
// mailbox, so it never observes a restart half-done. OTP's supervisor calls wait forever.
const FOREVER = { timeout: Infinity };

/**
 * Adds and starts a child: a spec for the static strategies, the extra start arguments for
 * `simple_one_for_one`.
 */
export function startChild(node: Node, supervisor: Address, specOrArgs: ChildSpec | unknown[]) {
  const request = Array.isArray(specOrArgs) ? { args: specOrArgs } : { spec: specOrArgs };
  return node.call<SupervisorResult<{ pid: Pid | undefined }>>(supervisor, { type: 'supervisor.start_child', ...request }, FOREVER);
}

/** Starts a child whose spec is kept but which is not running; `running` / `restarting` / `not_found` otherwise. */
export function restartChild(node: Node, supervisor: Address, id: string) {
  return node.call<SupervisorResult<{ pid: Pid | undefined }>>(supervisor, { type: 'supervisor.restart_child', id }, FOREVER);
}

/** Stops a child (by id, or by pid under `simple_one_for_one`); its spec stays unless it is temporary. */
export function terminateChild(node: Node, supervisor: Address, idOrPid: string) {
  return node.call<SupervisorResult>(supervisor, { type: 'supervisor.terminate_child', id: idOrPid }, FOREVER);
}

/** Removes the spec of a child that is not running. */
export function deleteChild(node: Node, supervisor: Address, id: string) {
  return node.call<SupervisorResult>(supervisor, { type: 'supervisor.delete_child', id }, FOREVER);
}

export function whichChildren(node: Node, supervisor: Address) {
  return node.call<ChildInfo[]>(supervisor, { type: 'supervisor.which_children' }, FOREVER);
}

export function countChildren(node: Node, supervisor: Address) {
  return node.call<ChildCounts>(supervisor, { type: 'supervisor.count_children' }, FOREVER);
}

export function getChildspec(node: Node, supervisor: Address, id: string) {
  return node.call<SupervisorResult<{ spec: ChildSpec }>>(supervisor, { type: 'supervisor.get_childspec', id }, FOREVER);
}

/**
 * A worker child running an XState machine as a gen_statem actor. Under `simple_one_for_one`
 * the first argument given to `startChild` becomes the machine's `input`.
 */
export function worker(
  id: string,
  machine: AnyStateMachine,
  options: Omit<StatemOptions, 'link'> & Pick<ChildSpec, 'restart' | 'shutdown' | 'significant'> = {},
): ChildSpec {
  const { restart, shutdown, significant, ...actor } = options;
  return {
    id,
    restart,
    shutdown,
    significant,
    type: 'worker',
    start: ({ node, supervisor }, ...args) =>
      spawnStatem(node, machine, { ...actor, link: supervisor, input: args.length > 0 ? args[0] : actor.input }),
  };
}

/** A child that is itself a supervisor. */
export function supervisor(
  id: string,
  spec: SupervisorSpec,
  options: { name?: string } & Pick<ChildSpec, 'restart' | 'shutdown' | 'significant'> = {},
): ChildSpec {
  const { name, ...child } = options;
  return {
    id,
    ...child,
    type: 'supervisor',
    start: ({ node, supervisor: parent }) => startSupervisor(node, spec, { name, link: parent }),
  };
}
