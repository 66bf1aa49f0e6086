import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, isCardLike, luhnValid, REDACTED, redactString } from '../../src/observability/index.ts';

describe('redaction of strings', () => {
  it.each([
    ['contact ann.lee+billing@example.co.uk now', `contact ${REDACTED.email} now`],
    ['<bob@mail.example.com>', `<${REDACTED.email}>`],
    ['from 192.168.10.254 to 8.8.8.8', `from ${REDACTED.ip} to ${REDACTED.ip}`],
    ['peer 10.0.0.1:8080 refused', `peer ${REDACTED.ip}:8080 refused`],
    ['failed at 10.0.0.1.', `failed at ${REDACTED.ip}.`],
    ['v6 2001:db8:85a3::8a2e:370:7334 ok', `v6 ${REDACTED.ip} ok`],
    ['loopback ::1 and fe80::1%eth0', `loopback ${REDACTED.ip} and ${REDACTED.ip}%eth0`],
    ['mapped ::ffff:192.0.2.1', `mapped ${REDACTED.ip}`],
    ['[2001:db8::1]:443', `[${REDACTED.ip}]:443`],
    ['at fe80::1: timeout', `at ${REDACTED.ip}: timeout`],
    ['card 4111 1111 1111 1111 declined', `card ${REDACTED.card} declined`],
    ['card 4111-1111-1111-1111', `card ${REDACTED.card}`],
    ['amex 378282246310005', `amex ${REDACTED.card}`],
    ['mc 5555555555554444.', `mc ${REDACTED.card}.`],
  ])('redacts %j', (input, expected) => {
    expect(redactString(input)).toBe(expected);
  });

  it.each([
    'version 1.2.3.4.5',
    'at 12:30:45 on 2024-01-01T12:30:45.123Z',
    'std::vector and a::b::c',
    'mac 00:1a:2b:3c:4d:5e',
    'order 4111 1111 1111 1112', // fails Luhn
    'timestamp 1700000000000', // 13 digits but starts with 1
    'id 12345678901234567890123', // too long to be a card
    'not an address: 999.1.1.1',
    'user@localhost', // no dot in the domain: not a routable address
    'billing.invoice:v2',
  ])('leaves %j alone', (input) => {
    expect(redactString(input)).toBe(input);
  });
});

describe('Luhn check', () => {
  it.each([
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['79927398713', true],
    ['0', true],
    ['', false],
    ['12a4', false],
  ])('%s → %s', (digits, valid) => {
    expect(luhnValid(digits)).toBe(valid);
  });

  it('card-like means 13–19 digits starting 2–6 and passing Luhn', () => {
    expect(isCardLike('4222222222222')).toBe(true); // 13-digit Visa test number
    expect(isCardLike('1234567812345670')).toBe(false); // Luhn-valid but starts with 1
    expect(isCardLike('42424242424242424242')).toBe(false); // 20 digits
  });

  it('finds every Luhn-valid card-like number whatever its grouping', () => {
    const cardLike = fc
      .tuple(fc.constantFrom('2', '3', '4', '5', '6'), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 11, maxLength: 17 }))
      .map(([first, rest]) => {
        const body = first + rest.join('');
        for (let check = 0; check < 10; check++) if (luhnValid(body + check)) return body + check;
        throw new Error('unreachable: one check digit always fits');
      });
    fc.assert(
      fc.property(cardLike, fc.constantFrom('', ' ', '-'), (digits, separator) => {
        const grouped = digits.match(/.{1,4}/g)!.join(separator);
        expect(redactString(`pay ${grouped} now`)).toBe(`pay ${REDACTED.card} now`);
      }),
    );
  });
});

describe('redaction of properties', () => {
  const redact = createRedactor({ keys: ['customerName', 'home-address'] });

  it('redacts deeply: nested objects, arrays, keys and configured names', () => {
    expect(
      redact({
        plan: 'pro',
        customer_name: 'Ann Lee',
        contact: { email: 'ann@example.com', phones: ['n/a'], HomeAddress: '1 Main St' },
        peers: ['10.1.2.3', { ip: '2001:db8::2' }],
        'ann@example.com': 'key is an address',
        attempts: 3,
      }),
    ).toEqual({
      plan: 'pro',
      customer_name: REDACTED.key,
      contact: { email: REDACTED.email, phones: ['n/a'], HomeAddress: REDACTED.key },
      peers: [REDACTED.ip, { ip: REDACTED.ip }],
      [REDACTED.email]: 'key is an address',
      attempts: 3,
    });
  });

  it('withholds default sensitive keys, also as part of longer names', () => {
    expect(redact({ dbPassword: 'hunter2', 'X-Api-Key': 'k', refresh_token: 't', Cookie: 'c', tokenizer: 'spacy' })).toEqual({
      dbPassword: REDACTED.key,
      'X-Api-Key': REDACTED.key,
      refresh_token: REDACTED.key,
      Cookie: REDACTED.key,
      // contains "token": withheld too; an over-cautious false positive is the cheaper mistake.
      tokenizer: REDACTED.key,
    });
  });

  it('redacts card numbers held as numbers and bigints', () => {
    expect(redact({ n: 4111111111111111, b: 4111111111111111n, count: 42, ts: 1700000000000 })).toEqual({
      n: REDACTED.card,
      b: REDACTED.card,
      count: 42,
      ts: 1700000000000,
    });
  });

  it('turns what JSON cannot carry into JSON, and survives cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const shared = { a: 1 };
    const out = redact({
      when: new Date(Date.UTC(2026, 0, 2)),
      nan: Number.NaN,
      fn: () => 1,
      sym: Symbol('s'),
      undef: undefined,
      big: 12n,
      set: new Set(['x@y.io']),
      map: new Map([['k', 'v']]),
      bytes: Buffer.from('secret'),
      error: new TypeError('bad input from 1.2.3.4'),
      cyclic,
      twice: [shared, shared],
    });
    expect(out).toEqual({
      when: '2026-01-02T00:00:00.000Z',
      nan: null,
      big: '12',
      set: [REDACTED.email],
      map: { k: 'v' },
      bytes: '[BINARY]',
      error: { name: 'TypeError', message: `bad input from ${REDACTED.ip}` },
      cyclic: { name: 'loop', self: '[CIRCULAR]' },
      twice: [{ a: 1 }, { a: 1 }],
    });
  });

  it('cuts very deep and very long values', () => {
    const limited = createRedactor({ maxDepth: 2, maxStringLength: 5 });
    expect(limited({ a: { b: { c: { d: 1 } } }, s: 'abcdefgh' })).toEqual({ a: { b: { c: '[TRUNCATED]' } }, s: 'abcde…' });
  });

  it('never lets an e-mail address through, wherever it hides', () => {
    const email = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,10}[a-z0-9]$/), fc.stringMatching(/^[a-z]{2,10}$/)).map(
      ([local, domain]) => `${local}@${domain}.com`,
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        email,
        fc.string(),
        fc.integer(),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(email, json, fc.string(), (address, noise, key) => {
        const out = JSON.stringify(createRedactor()({ noise, [key]: [noise, `mail ${address}!`], [address]: 1 }));
        expect(out).not.toContain(address);
      }),
    );
  });
});
