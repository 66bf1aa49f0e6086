import type { ChainableCommander, Redis } from 'ioredis';

/** A pipeline reply: the error, or the command's answer. */
export type PipelineReply = [Error | null, unknown];

/**
 * Sends commands for many items in one round trip per group, the groups at once, and answers in
 * the items' order. On Redis Cluster a pipeline must stay on one node, so items are grouped by the
 * hash slot their keys share (a partition, a queue); on one Redis this costs a pipeline per group
 * instead of one, sent together.
 *
 * `add` adds `perItem` commands for one item; the replies come back `perItem` per item.
 */
export async function pipelinedBy<T>(
  redis: Redis,
  items: readonly T[],
  groupOf: (item: T) => string,
  add: (pipeline: ChainableCommander, item: T) => void,
  perItem = 1,
): Promise<PipelineReply[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const group = groupOf(item);
    const indexes = groups.get(group);
    if (indexes) indexes.push(i);
    else groups.set(group, [i]);
  });
  const replies: PipelineReply[] = new Array<PipelineReply>(items.length * perItem);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) add(pipeline, items[i]!);
      const answers = (await pipeline.exec()) ?? [];
      indexes.forEach((i, j) => {
        for (let k = 0; k < perItem; k++) replies[i * perItem + k] = answers[j * perItem + k] ?? [new Error('no reply from the pipeline'), null];
      });
    }),
  );
  return replies;
}
