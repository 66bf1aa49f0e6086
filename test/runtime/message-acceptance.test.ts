import { describe, expect, it } from 'vitest';
import { messageRefusal, type AcceptedMessages } from '../../src/runtime/message-acceptance.ts';

const to = { entity: 'Account', key: 'a-1' };
const cast = (type: string) => ({ t: 'cast' as const, to, event: { type } });

describe('EntityKind.accepts (messageRefusal)', () => {
  it('a kind without accepts takes everything', () => {
    expect(messageRefusal('Account', undefined, to, cast('anything'))).toBeUndefined();
  });

  it('takes the types listed, refuses the others with the list', () => {
    const accepts: AcceptedMessages = { deposit: true, withdraw: (message) => (message['amount'] === undefined ? '$.amount: required' : undefined) };
    expect(messageRefusal('Account', accepts, to, cast('deposit'))).toBeUndefined();
    expect(messageRefusal('Account', accepts, to, cast('withdraw'))).toBe('$.amount: required');
    expect(messageRefusal('Account', accepts, to, cast('close'))).toBe('Account takes no "close" messages (it takes "deposit", "withdraw")');
    // Own keys only: "constructor" and "toString" are not on the list.
    expect(messageRefusal('Account', accepts, to, cast('constructor'))).toMatch(/takes no "constructor"/);
    expect(messageRefusal('Account', accepts, to, cast('toString'))).toMatch(/takes no "toString"/);
  });

  it('"*" checks every type not listed', () => {
    const accepts: AcceptedMessages = { deposit: true, '*': (message) => `not ${message.type}` };
    expect(messageRefusal('Account', accepts, to, cast('close'))).toBe('not close');
  });

  it('passes the delivery (kind and message id) to the check, and a throwing check refuses', () => {
    const seen: unknown[] = [];
    const accepts: AcceptedMessages = {
      deposit: (_message, _address, delivery) => {
        seen.push(delivery);
        return undefined;
      },
      boom: () => {
        throw new Error('bad check');
      },
    };
    messageRefusal('Account', accepts, to, cast('deposit'), 'm-1');
    messageRefusal('Account', accepts, to, { t: 'call', to, from: { node: 'n', ref: 'r' }, event: { type: 'deposit' } });
    expect(seen).toEqual([{ t: 'cast', id: 'm-1' }, { t: 'call' }]);
    expect(messageRefusal('Account', accepts, to, cast('boom'))).toBe('the Account check of "boom" messages failed: bad check');
  });

  it('signals and replies are not messages to the machine: never refused', () => {
    const accepts: AcceptedMessages = {};
    expect(messageRefusal('Account', accepts, to, { t: 'reply', to: { node: 'n', ref: 'r' }, value: 1 })).toBeUndefined();
  });
});
