/**
 * The BullMQ transport: actor messages as BullMQ jobs in Redis, persisted entity state, many nodes
 * on one Redis. See README.md beside this file for the design.
 */
export { BullmqTransport } from './bullmq-transport.ts';
export type { EntityHibernation, ShutdownResult } from './bullmq-transport.ts';
export { startBullmqNode, defaultNodeName } from './start-node.ts';
export type { BullmqNode, BullmqNodeOptions } from './start-node.ts';
export { GovernorProducer, type SendOptions } from './producer.ts';
export type { OutboundMessage } from './producer.ts';
export { installSignalHandlers } from './shutdown.ts';
export type { SignalHandlerOptions, StopReport } from './shutdown.ts';
export type { BullmqTransportOptions, Placement } from './options.ts';
export { RedisNotDurableError, ALLOW_DATA_LOSS_ENV, describePersistence } from './redis-persistence.ts';
export { RedisUnreachableError } from './connections.ts';
export type { Durability, RedisPersistence } from './redis-persistence.ts';
export type { ClusterNode, NodeInfo } from './membership.ts';
export type { DeadLetter, ReplayResult } from './dead-letters.ts';
export type { RegisterResult } from './registry.ts';
export { checkJob, checkEnvelope, checkJobDataLimits, checkMessageId, ENTITY_JOB_JSON_SCHEMA, IdempotencyKeyReusedError, InvalidJobDataError, jobIdFor, JOB_FORMAT_VERSION, MAX_JOB_BYTES, MAX_JOB_DEPTH } from './job-format.ts';
export type { JobData, CheckedJob } from './job-format.ts';
export { traceCarrier, contextOfCarrier, TRACE_FIELD } from './trace-context.ts';
export type { TraceCarrier, ExtractedTrace } from './trace-context.ts';
export type { TracingOptions } from './job-tracing.ts';
