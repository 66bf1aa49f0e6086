import { z } from 'zod';
import { JOB_FORMAT_VERSION, TRACE_JSON_SCHEMA } from '../../transport/bullmq/job-format.ts';
import { MAX_TRACEPARENT_LENGTH, MAX_TRACESTATE_LENGTH } from '../../transport/bullmq/trace-context.ts';
import { SAFE_ID_MAX_LENGTH, SAFE_ID_PATTERN } from '../../marketplace/ids.ts';
import { LifecycleMessageSchema, ORCHESTRATOR_KIND } from '../../marketplace/lifecycle-message.ts';

/**
 * The BullMQ job data of one lifecycle event, as a producer that does not use Governor's code
 * writes it (README, "Job format for producers"), and its JSON Schema, generated from this zod
 * schema so the two cannot disagree. `schemas/lifecycle-job.schema.json` holds the same document;
 * a test fails when the file is stale, and a differential test runs ajv with it against the
 * node's own checks over valid and hostile jobs.
 */

/** The `$id` of the lifecycle job schema. */
export const LIFECYCLE_JOB_SCHEMA_ID = 'https://governor.dev/schemas/lifecycle-job.schema.json';

/**
 * The shape of a lifecycle message id: `ev.<customerId>/<eventId>` with ":" written "|", then
 * optionally `.` and a suffix (a resend under a new job id). Which customer and event it must
 * name is a cross-field rule, checked by the nodes (`isMessageIdOf`).
 */
export const LIFECYCLE_MESSAGE_ID_PATTERN = /^ev\.[A-Za-z0-9][A-Za-z0-9._|-]{0,127}\/[A-Za-z0-9][A-Za-z0-9._|-]*$/;

/** Job data of one lifecycle event: a cast of the `lifecycle` message to the customer's orchestrator. */
export const LifecycleJobSchema = z.strictObject({
  v: z.literal(JOB_FORMAT_VERSION).describe('The job format version.'),
  id: z
    .string()
    .max(512)
    .regex(LIFECYCLE_MESSAGE_ID_PATTERN)
    .describe('The message id, the idempotency key: messageIdOf(event) = "ev.<customerId>/<eventId>" with ":" written "|".'),
  env: z.strictObject({
    t: z.literal('cast'),
    to: z.strictObject({
      entity: z.literal(ORCHESTRATOR_KIND),
      key: z.string().max(SAFE_ID_MAX_LENGTH).regex(SAFE_ID_PATTERN).describe("The event's customerId."),
    }),
    event: LifecycleMessageSchema,
  }),
  trace: z
    .strictObject({
      traceparent: z.string().max(MAX_TRACEPARENT_LENGTH).regex(new RegExp(TRACE_JSON_SCHEMA.properties.traceparent.pattern)).describe(TRACE_JSON_SCHEMA.properties.traceparent.description),
      tracestate: z.string().max(MAX_TRACESTATE_LENGTH).optional().describe(TRACE_JSON_SCHEMA.properties.tracestate.description),
    })
    .optional()
    .describe(TRACE_JSON_SCHEMA.description),
});

/** Job data of one lifecycle event. */
export type LifecycleJobData = z.infer<typeof LifecycleJobSchema>;

/** Returns the JSON Schema (draft 2020-12) of lifecycle job data as a fresh plain object. */
export function lifecycleJobJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(LifecycleJobSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...body } = generated;
  return {
    $schema,
    $id: LIFECYCLE_JOB_SCHEMA_ID,
    title: 'Governor lifecycle job (BullMQ job data)',
    description:
      'The data of one BullMQ job carrying a lifecycle event to its customer\'s orchestrator; the job\'s name is the ' +
      'event type and its id "Orchestrator/<encodeURIComponent(customerId)>/<id>". Also enforced by the nodes, ' +
      'which JSON Schema cannot say: env.to.key equals env.event.event.customerId; id is messageIdOf(event), ' +
      '"ev.<customerId>/<eventId>" with ":" written "|" (optionally followed by "." and a suffix of letters, digits, ' +
      '".", "_", "|" or "-", for a resend under a new job id); amounts and prices are greater than zero; versions are within semver\'s limits; event.occurredAt is at most 1 hour ahead of the node\'s clock; an eventId the ' +
      'orchestrator handled with other content (any field but occurredAt) is refused (IDEMPOTENCY_KEY_REUSED). A job that breaks any rule ' +
      'is dead-lettered with the reason, never processed.',
    ...body,
  };
}

/** The schema as the text of `schemas/lifecycle-job.schema.json` (2-space indent, final newline). */
export function lifecycleJobJsonSchemaText(): string {
  return `${JSON.stringify(lifecycleJobJsonSchema(), null, 2)}\n`;
}
