import { z } from 'zod';
import { LifecycleEventSchema, MAX_EVENT_BYTES, MAX_EVENT_DEPTH } from './event-schema.ts';

/**
 * The JSON Schema (draft 2020-12) of lifecycle events, generated from the zod schemas so the two
 * cannot disagree. `schemas/lifecycle-event.schema.json` holds the same document; a test fails
 * when the file is stale.
 *
 * A JSON Schema cannot say everything the validator checks: the byte-size and depth limits, the
 * refusal of `__proto__`/`constructor`/`prototype` keys, amounts greater than zero and versions
 * that `semver` itself accepts are checked by `parseLifecycleEvent` only; the schema's
 * `description` lists them for producers.
 */

/** The `$id` of the lifecycle event schema. */
export const LIFECYCLE_EVENT_SCHEMA_ID = 'https://governor.dev/schemas/lifecycle-event.schema.json';

/** Returns the JSON Schema of lifecycle events as a fresh plain object. */
export function lifecycleEventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(LifecycleEventSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...body } = generated;
  return {
    $schema,
    $id: LIFECYCLE_EVENT_SCHEMA_ID,
    title: 'Governor lifecycle event',
    description:
      `One lifecycle event, usage report or catalog operation, discriminated by "type". Also enforced by ` +
      `the Governor validator: at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON, at most ${MAX_EVENT_DEPTH} levels ` +
      `of nesting, no "__proto__", "constructor" or "prototype" keys anywhere, amounts and prices greater ` +
      `than zero, occurredAt at most 1 hour ahead of the validating clock. eventId is the producer's idempotency key: ` +
      `the same eventId with other content (any field but occurredAt) is refused, never taken for a duplicate.`,
    ...body,
  };
}

/** The schema as the text of `schemas/lifecycle-event.schema.json` (2-space indent, final newline). */
export function lifecycleEventJsonSchemaText(): string {
  return `${JSON.stringify(lifecycleEventJsonSchema(), null, 2)}\n`;
}
