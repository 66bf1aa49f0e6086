import { describe, expect, it } from 'vitest';
import { AdminAuthError, needsSignature, parseRequest, READ_COMMANDS, sign, verify, type AdminRequest } from '../../src/cli/admin-protocol.ts';

const NOW = 1_800_000_000_000;
const TOKEN = 'secret-token';
const base: AdminRequest = {
  id: 'r1',
  node: 'n1',
  command: 'terminate_child',
  args: ['root', 'orders'],
  nonce: 'abc',
  issuedAt: NOW,
};

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(AdminAuthError);
    return (error as AdminAuthError).code;
  }
}

describe('admin protocol', () => {
  it('accepts a request signed with the same token', () => {
    expect(codeOf(() => verify(sign(base, TOKEN), TOKEN, NOW))).toBeUndefined();
  });

  it('lets read commands through unsigned, even on a node without a token', () => {
    for (const command of READ_COMMANDS) expect(codeOf(() => verify({ ...base, command }, undefined, NOW))).toBeUndefined();
  });

  it('refuses a mutating command unsigned, or on a node without a token', () => {
    expect(codeOf(() => verify(base, TOKEN, NOW))).toBe('ADMIN_UNSIGNED');
    expect(codeOf(() => verify(sign(base, TOKEN), undefined, NOW))).toBe('ADMIN_NO_TOKEN');
  });

  it('signs enqueue and dlq_replay; queues, dlq and audit_verify only read', () => {
    for (const command of ['enqueue', 'dlq_replay']) {
      expect(needsSignature(command)).toBe(true);
      expect(codeOf(() => verify({ ...base, command }, TOKEN, NOW))).toBe('ADMIN_UNSIGNED');
    }
    for (const command of ['queues', 'dlq', 'audit_verify']) expect(needsSignature(command)).toBe(false);
  });

  it('treats an unknown command as mutating', () => {
    expect(codeOf(() => verify({ ...base, command: 'drop_everything' }, TOKEN, NOW))).toBe('ADMIN_UNSIGNED');
  });

  it('refuses a signature under another token, a forged one, and a truncated one', () => {
    expect(codeOf(() => verify(sign(base, 'other'), TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...base, signature: 'f'.repeat(64) }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...base, signature: sign(base, TOKEN).signature!.slice(0, 10) }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...base, signature: 'not hex' }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
  });

  it('refuses tampered args, command, node or nonce', () => {
    const signed = sign(base, TOKEN);
    expect(codeOf(() => verify({ ...signed, args: ['root', 'billing'] }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...signed, command: 'restart_child' }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...signed, node: 'n2' }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
    expect(codeOf(() => verify({ ...signed, nonce: 'fresh' }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
  });

  it('refuses stale and future timestamps beyond 30 s, accepts within', () => {
    expect(codeOf(() => verify(sign({ ...base, issuedAt: NOW - 31_000 }, TOKEN), TOKEN, NOW))).toBe('ADMIN_STALE');
    expect(codeOf(() => verify(sign({ ...base, issuedAt: NOW + 31_000 }, TOKEN), TOKEN, NOW))).toBe('ADMIN_STALE');
    expect(codeOf(() => verify(sign({ ...base, issuedAt: NOW - 29_000 }, TOKEN), TOKEN, NOW))).toBeUndefined();
    // A re-dated copy of a signed request does not verify: the timestamp is signed.
    expect(codeOf(() => verify({ ...sign(base, TOKEN), issuedAt: NOW + 1 }, TOKEN, NOW))).toBe('ADMIN_BAD_SIGNATURE');
  });

  it('survives a JSON round trip and checks fields when parsing', () => {
    const signed = sign(base, TOKEN);
    expect(codeOf(() => verify(parseRequest(JSON.stringify(signed)), TOKEN, NOW))).toBeUndefined();
    expect(() => parseRequest('{"id":1}')).toThrow(/"id" must be a string/);
    expect(() => parseRequest(JSON.stringify({ ...base, args: 'x' }))).toThrow(/"args" must be an array/);
  });
});
