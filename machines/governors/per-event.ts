/**
 * A pure function of a domain machine's context and event, worked out once per transition: the
 * guards that choose among an event's branches and the action of the branch taken all read the
 * same result (a usage report counted, an invoice built), and XState hands them the same context
 * and event objects within one transition. Both are immutable (an `assign` makes a new context),
 * so the same pair always gives the same result; anything else is computed afresh.
 *
 * @example
 * const counted = perEvent((context: Ctx, event: QuotaEvent) => countUsage(...));
 */
export function perEvent<C extends object, E extends object, R>(compute: (context: C, event: E) => R): (context: C, event: E) => R {
  const last = new WeakMap<E, { readonly context: C; readonly value: R }>();
  return (context, event) => {
    const hit = last.get(event);
    if (hit && hit.context === context) return hit.value;
    const value = compute(context, event);
    last.set(event, { context, value });
    return value;
  };
}
