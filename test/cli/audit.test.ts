import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'governor-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `governor demo --export`: the exported file and the public key the demo prints for it. */
function exportChain(name: string): { file: string; publicKey: string } {
  const file = join(dir, name);
  const demo = governor(['demo', '--export', file]);
  expect(demo.code).toBe(0);
  const publicKey = /--public-key (\S+)/.exec(demo.stdout)?.[1];
  expect(publicKey, demo.stdout).toBeDefined();
  return { file, publicKey: publicKey! };
}

describe('governor audit verify', () => {
  it('demo → export → verify ok; one byte edited → exit 1 naming the position and the damage', () => {
    const { file, publicKey } = exportChain('chain.json');
    const ok = governor(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ok: 11 receipts verify');
    expect(ok.stdout).toContain('the signed head verifies');

    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('"eventId": "demo-6"') + '"eventId": "demo-'.length;
    expect(text[at]).toBe('6');
    writeFileSync(file, `${text.slice(0, at)}9${text.slice(at + 1)}`);
    const damaged = governor(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toContain('damaged at position 5: edited');
    const json = governor(['audit', 'verify', '--file', file, '--public-key', publicKey, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, position: 5, kind: 'edited' });
  });

  it('a cut-off tail is caught by the signed head; without the key it is said to go unnoticed', () => {
    const { file, publicKey } = exportChain('truncated.json');
    const chain = JSON.parse(readFileSync(file, 'utf8')) as { receipts: unknown[] };
    chain.receipts.pop();
    writeFileSync(file, JSON.stringify(chain));
    const truncated = governor(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toContain('damaged at position 10: truncated');
    const unchecked = governor(['audit', 'verify', '--file', file]);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toContain('NOT checked');
    const wrongKey = governor(['audit', 'verify', '--file', file, '--public-key', 'demo=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain('bad_signature');
  });

  it('verifies a bare array of receipts, and a head given with --head', () => {
    const { file, publicKey } = exportChain('bare.json');
    const chain = JSON.parse(readFileSync(file, 'utf8')) as { receipts: unknown[]; head: unknown };
    const bare = join(dir, 'bare-array.json');
    writeFileSync(bare, JSON.stringify(chain.receipts));
    expect(governor(['audit', 'verify', '--file', bare]).code).toBe(0);
    const withHead = governor(['audit', 'verify', '--file', bare, '--head', JSON.stringify(chain.head), '--public-key', publicKey]);
    expect(withHead.code).toBe(0);
    expect(withHead.stdout).toContain('the signed head verifies');
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.json'), 'no such file'],
    ['a directory', () => dir, 'directory'],
    ['bad JSON', () => write('bad.json', '{"receipts": ['), 'is not JSON'],
    ['the wrong shape', () => write('shape.json', '{"hello": 1}'), 'expected an array of receipts'],
    ['a bad anchor', () => write('anchor.json', '{"receipts": [], "anchor": {"seq": "x"}}'), '`anchor` must be'],
    ['huge input', () => huge(), 'more than the'],
  ])('refuses %s with exit 2 and one line', (_what, make, message) => {
    const run = governor(['audit', 'verify', '--file', make()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toContain('    at ');
  });

  it('--head without a key, and a malformed key, are usage errors', () => {
    const file = write('empty.json', '[]');
    expect(governor(['audit', 'verify', '--file', file, '--head', '{}']).code).toBe(2);
    const badKey = governor(['audit', 'verify', '--file', file, '--head', '{}', '--public-key', 'nokid']);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('kid=base64url');
  });
});

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A sparse file larger than the accepted size (nothing is written to disk). */
function huge(): string {
  const file = write('huge.json', '');
  truncateSync(file, 65 * 1024 * 1024);
  return file;
}
