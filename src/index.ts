/**
 * Governor: an Erlang/OTP-style actor runtime on XState v5 (`@governorjs/governor`). The BullMQ
 * transport is in `@governorjs/governor/redis`, the marketplace application in
 * `@governorjs/governor/marketplace`, test helpers in `@governorjs/governor/testing`.
 *
 * @example
 * import { createNode, startSupervisor, worker, reply } from '@governorjs/governor';
 */
export { GovernorError } from './errors.ts';

export { Node, DEFAULT_CALL_TIMEOUT } from './runtime/node.ts';
export { createNode } from './create-node.ts';
export type { NodeOptions, CallOptions, NodeStatistics } from './runtime/node.ts';
export { systemClock, SimulatedClock, TestClock } from './runtime/clock.ts';
export type { Clock } from './runtime/clock.ts';
export { isPid, nodeOfPid } from './runtime/pid.ts';
export type { Pid } from './runtime/pid.ts';
export type { Address, CallerRef, Envelope, Message } from './runtime/envelope.ts';
export { KILL, isCleanExit, isShutdownReason, formatReason } from './runtime/exit-reason.ts';
export type { ExitReason } from './runtime/exit-reason.ts';
export {
  CallExitError,
  CallTimeoutError,
  NameTakenError,
  NoProcError,
  NoSuchNameError,
  PostponeOverflowError,
  UnhandledEventError,
  StartError,
  StopExitError,
  StopTimeoutError,
  UnsupportedMachineFeatureError,
} from './runtime/errors.ts';

export { spawnStatem, StatemProcess, DEFAULT_MAX_POSTPONED } from './runtime/statem.ts';
export { stopProcess } from './runtime/stop-process.ts';
export type { StatemOptions } from './runtime/statem.ts';
export {
  reply,
  replyTo,
  postpone,
  nextEvent,
  nextEventAt,
  startTimer,
  cancelTimer,
  updateTimer,
  eventTimeout,
  stateTimeout,
  cancelStateTimeout,
  updateStateTimeout,
  castTo,
  sendInfo,
  callTo,
  stop,
  hibernate,
  appendJournal,
  putRecord,
  EFFECT,
  TERMINATE_EVENT,
} from './runtime/statem-actions.ts';
export type { TimeoutOptions } from './runtime/statem-actions.ts';
export type { StateTimeoutDeclaration } from './runtime/statem-scope.ts';
export { PERSISTED_STATE_VERSION } from './runtime/persisted-state.ts';
export type { PersistedActorState, PersistedTimer, TimerKind } from './runtime/persisted-state.ts';

export { startSupervisor, SupervisorProcess } from './runtime/supervisor/supervisor.ts';
export type { ChildInfo, ChildCounts, SupervisorResult, SupervisorErrorTag } from './runtime/supervisor/supervisor.ts';
export {
  startChild,
  restartChild,
  terminateChild,
  deleteChild,
  whichChildren,
  countChildren,
  getChildspec,
  worker,
  supervisor,
} from './runtime/supervisor/api.ts';
export { checkChildSpecs, checkSupervisorSpec, InvalidSpecError } from './runtime/supervisor/child-spec.ts';
export type {
  ChildSpec,
  SupervisorSpec,
  BackoffOptions,
  RestartType,
  Shutdown,
  ChildType,
  Strategy,
  AutoShutdown,
  StartContext,
  SpecProblem,
} from './runtime/supervisor/child-spec.ts';

export * as sys from './runtime/sys.ts';
export { StateChangeError, MAX_PATCH_OPERATIONS, MAX_STATE_BYTES } from './runtime/state-change.ts';
export type { StateChange, StateValue, StateChangeErrorCode } from './runtime/state-change.ts';
export { JsonPatchError, applyJsonPatch, parseJsonPatch } from './runtime/json-patch.ts';
export type { JsonPatchOperation, JsonPatchErrorCode } from './runtime/json-patch.ts';
export type { TraceEntry } from './runtime/trace.ts';

export { MemoryTransport } from './transport/memory.ts';
export type { Transport, TransportEndpoint } from './runtime/transport.ts';

export { EntityHost } from './runtime/entity-host.ts';
export type { EntityKind, EntityHostOptions } from './runtime/entity-host.ts';
export { InvalidMessageError, messageRefusal } from './runtime/message-acceptance.ts';
export type { AcceptedMessages, Delivery, MessageCheck } from './runtime/message-acceptance.ts';
export { checkEntityAddress, entityName, isEntityAddress, InvalidEntityAddressError } from './runtime/entity.ts';
export type { EntityAddress } from './runtime/entity.ts';
export { MemoryStore } from './store/memory-store.ts';
export { RecordUnreadableError, type RecordReader, type RecordRequest } from './store/entity-records.ts';
export type { ActorStore, StoredActor, SaveResult } from './store/actor-store.ts';
