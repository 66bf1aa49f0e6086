import { describe, expect, it } from 'vitest';
import { InvalidMessageError, messageRefusal, stateRefusal, type AcceptedMessages } from '../../src/runtime/message-acceptance.ts';

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
    // A plain send is a message like a cast.
    expect(messageRefusal('Account', accepts, to, { t: 'info', to, event: { type: 'close' } })).toMatch(/takes no "close"/);
    expect(messageRefusal('Account', {}, to, cast('close'))).toBe('Account takes no "close" messages (it takes none)');
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
    messageRefusal('Account', accepts, to, { t: 'info', to, event: { type: 'deposit' } }, undefined, 1_700_000_000_000);
    // Only what is known is passed: no `id` or `now` keys standing for nothing.
    expect(seen).toStrictEqual([{ t: 'cast', id: 'm-1' }, { t: 'call' }, { t: 'info', now: 1_700_000_000_000 }]);
    expect(messageRefusal('Account', accepts, to, cast('boom'))).toBe('the Account check of "boom" messages failed: bad check');
  });

  it('signals and replies are not messages to the machine: never refused', () => {
    const accepts: AcceptedMessages = {};
    expect(messageRefusal('Account', accepts, to, { t: 'reply', to: { node: 'n', ref: 'r' }, value: 1 })).toBeUndefined();
    expect(messageRefusal('Account', accepts, to, { t: 'exit', to: '<n.1>' as never, from: '<n.2>' as never, reason: 'kill', linked: false })).toBeUndefined();
    expect(messageRefusal('Account', accepts, to, { t: 'down', to: '<n.1>' as never, ref: 'r', pid: '<n.2>' as never, reason: 'normal' })).toBeUndefined();
  });
});

describe('EntityKind.checkState (stateRefusal)', () => {
  it('a kind without a state check takes everything', () => {
    expect(stateRefusal('Account', undefined, { balance: 0 }, to, cast('withdraw'))).toBeUndefined();
  });

  it('checks casts, sends and calls against the context, and can read the record the message needs', () => {
    const seen: unknown[] = [];
    const check = (context: unknown, message: { type: string }, address: unknown, record: () => unknown) => {
      seen.push([context, message.type, address, record()]);
      return (context as { balance: number }).balance > 0 ? undefined : 'balance: nothing to withdraw';
    };
    expect(stateRefusal('Account', check, { balance: 0 }, to, cast('withdraw'), () => ({ id: 'k-1' }))).toBe('balance: nothing to withdraw');
    expect(stateRefusal('Account', check, { balance: 5 }, to, { t: 'info', to, event: { type: 'withdraw' } })).toBeUndefined();
    expect(stateRefusal('Account', check, { balance: 0 }, to, { t: 'call', to, from: { node: 'n', ref: 'r' }, event: { type: 'withdraw' } })).toMatch(/nothing to withdraw/);
    expect(seen).toEqual([
      [{ balance: 0 }, 'withdraw', to, { id: 'k-1' }],
      [{ balance: 5 }, 'withdraw', to, undefined],
      [{ balance: 0 }, 'withdraw', to, undefined],
    ]);
  });

  it('never checks signals and replies, and a throwing check refuses with its message', () => {
    const refuse = () => 'refused';
    expect(stateRefusal('Account', refuse, {}, to, { t: 'reply', to: { node: 'n', ref: 'r' }, value: 1 })).toBeUndefined();
    expect(stateRefusal('Account', refuse, {}, to, { t: 'exit', to: '<n.1>' as never, from: '<n.2>' as never, reason: 'kill', linked: false })).toBeUndefined();
    const broken = () => {
      throw new Error('record unreadable');
    };
    expect(stateRefusal('Account', broken, {}, to, cast('deposit'))).toBe('the Account state check of "deposit" messages failed: record unreadable');
    const thrower = () => {
      throw 'not an error';
    };
    expect(stateRefusal('Account', thrower, {}, to, cast('deposit'))).toBe('the Account state check of "deposit" messages failed: not an error');
    expect(messageRefusal('Account', { deposit: thrower }, to, cast('deposit'))).toBe('the Account check of "deposit" messages failed: not an error');
  });
});

describe('InvalidMessageError', () => {
  it('names the entity and the reason, and says nothing was sent', () => {
    const error = new InvalidMessageError(to, 'Account takes no "close" messages (it takes none)');
    expect(error).toMatchObject({ code: 'INVALID_MESSAGE', name: 'InvalidMessageError', address: to, reason: 'Account takes no "close" messages (it takes none)' });
    expect(error.message).toBe('Account/a-1 refuses the message, nothing was sent: Account takes no "close" messages (it takes none)');
  });
});
