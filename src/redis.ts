/**
 * `@governorjs/governor/redis`: the BullMQ transport and the Redis store, apart from the main entry
 * so that an embedded node never loads bullmq and ioredis. See src/transport/bullmq/README.md.
 *
 * @example
 * import { startBullmqNode } from '@governorjs/governor/redis';
 * const { node } = await startBullmqNode({ url: process.env.REDIS_URL!, kinds });
 */
export {
  BullmqTransport,
  startBullmqNode,
  defaultNodeName,
  GovernorProducer,
  installSignalHandlers,
  checkJob,
  checkEnvelope,
  checkJobDataLimits,
  checkMessageId,
  IdempotencyKeyReusedError,
  ENTITY_JOB_JSON_SCHEMA,
  InvalidJobDataError,
  jobIdFor,
  JOB_FORMAT_VERSION,
  MAX_JOB_BYTES,
  MAX_JOB_DEPTH,
  RedisNotDurableError,
  ALLOW_DATA_LOSS_ENV,
  describePersistence,
  traceCarrier,
  contextOfCarrier,
  TRACE_FIELD,
} from './transport/bullmq/index.ts';
export type {
  BullmqNode,
  BullmqNodeOptions,
  BullmqTransportOptions,
  Placement,
  OutboundMessage,
  SendOptions,
  SignalHandlerOptions,
  StopReport,
  ShutdownResult,
  ClusterNode,
  NodeInfo,
  DeadLetter,
  ReplayResult,
  RegisterResult,
  JobData,
  CheckedJob,
  TraceCarrier,
  ExtractedTrace,
  TracingOptions,
  Durability,
  RedisPersistence,
} from './transport/bullmq/index.ts';
export { RedisStore, DEFAULT_HANDLED_LIMIT } from './store/redis-store.ts';
export type { RedisStoreOptions, CommitBatch, CommitEntry, CommitResult } from './store/redis-store.ts';
export { RedisKeys } from './store/redis-keys.ts';
export type { PartitionId } from './store/redis-keys.ts';
export { StoredStateError, DatasetRolledBackError } from './store/redis-errors.ts';
export type { EpochReading } from './store/redis-errors.ts';
export { DatasetEpoch } from './store/dataset-epoch.ts';
