/**
 * A command's promise that can be read into before it settles: `get_state('Billing/c1').context.data`
 * is a promise of `data`, and `nodes().map((n) => n.name)` a promise of the names. The REPL awaits
 * what a line evaluates to, so a person types what they mean without `.then` or `await`.
 *
 * A property read or a method call on the chain returns a new chain of the result; `then`, `catch`
 * and `finally` are the promise's own, so it is still awaited, and `.then(...)` keeps working.
 */
export function awaitableChain(promise: Promise<unknown>): unknown {
  return chain(promise, undefined);
}

const PROMISE_METHODS = new Set<PropertyKey>(['then', 'catch', 'finally']);

function chain(promise: Promise<unknown>, parent: Promise<unknown> | undefined): unknown {
  // A chain nobody awaits (`const s = get_state('x')`) must not be an unhandled rejection, which
  // would end the REPL's process: whoever awaits it still gets the rejection.
  promise.catch(() => undefined);
  // Callable, so a method read off the chain can be called; `parent` is the value it is called on.
  const target = function chained() {} as unknown as object;
  return new Proxy(target, {
    get(_, key) {
      if (PROMISE_METHODS.has(key)) {
        const method = (promise as unknown as Record<PropertyKey, (...args: unknown[]) => unknown>)[key]!;
        return method.bind(promise);
      }
      if (key === Symbol.toStringTag) return 'Promise';
      return chain(
        promise.then((value) => (value as Record<PropertyKey, unknown> | null | undefined)?.[key] ?? read(value, key)),
        promise,
      );
    },
    apply(_, _this, args: unknown[]) {
      if (parent === undefined) return chain(promise.then((fn) => call(fn, undefined, args)), undefined);
      return chain(
        Promise.all([parent, promise]).then(([self, fn]) => call(fn, self, args)),
        undefined,
      );
    },
  });
}

/** A property of a value that is not an object (a string's length, a number's toFixed). */
function read(value: unknown, key: PropertyKey): unknown {
  if (value === null || value === undefined) throw new TypeError(`cannot read ${String(key)} of ${String(value)}`);
  return (Object(value) as Record<PropertyKey, unknown>)[key];
}

function call(fn: unknown, self: unknown, args: unknown[]): unknown {
  if (typeof fn !== 'function') throw new TypeError(`${String(fn)} is not a function`);
  return (fn as (...a: unknown[]) => unknown).apply(self, args);
}

/**
 * What a REPL line evaluates to, with the commands' promises inside it settled too:
 * `[get_state('Billing/c1').value, get_state('Entitlement/c1').value]` shows the two values, not two
 * pending chains. Only arrays and plain objects are looked into, a few levels deep (what a line
 * builds by hand); anything else is shown as it is.
 */
export async function settleNested(value: unknown, depth = 4): Promise<unknown> {
  const settled = isThenable(value) ? await value : value;
  if (depth === 0 || settled === null || typeof settled !== 'object') return settled;
  if (Array.isArray(settled)) {
    if (!settled.some((item) => isThenable(item) || (item !== null && typeof item === 'object'))) return settled;
    return Promise.all(settled.map((item) => settleNested(item, depth - 1)));
  }
  // A plain object of any realm (a line is evaluated in its own vm context, with its own Object).
  const proto = Object.getPrototypeOf(settled) as object | null;
  if (proto !== null && Object.getPrototypeOf(proto) !== null) return settled;
  const entries = await Promise.all(Object.entries(settled).map(async ([key, item]) => [key, await settleNested(item, depth - 1)] as const));
  return Object.fromEntries(entries);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
