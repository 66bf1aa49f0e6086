import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { governor } from './governor-command.ts';
import { appendReceipt, eventDigest, GENESIS_TIP, tipOf, type Receipt } from '../../src/marketplace/receipts.ts';
import { signChainHead } from '../../src/marketplace/receipt-head.ts';
import { signTreeHead } from '../../src/marketplace/receipt-tree-head.ts';
import { frontierOfReceipts } from '../../src/marketplace/receipt-log.ts';
import { frontierRoot } from '../../src/marketplace/merkle.ts';
import { generateSigningKey } from '../../src/marketplace/signing-keys.ts';

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

  it('a cut-off tail is caught by the signed head (even unchecked, its size shows it); with no head it is said to go unnoticed', () => {
    const { file, publicKey } = exportChain('truncated.json');
    const chain = JSON.parse(readFileSync(file, 'utf8')) as { receipts: unknown[] };
    chain.receipts.pop();
    writeFileSync(file, JSON.stringify(chain));
    const truncated = governor(['audit', 'verify', '--file', file, '--public-key', publicKey]);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toContain('damaged at position 10: truncated');
    expect(governor(['audit', 'verify', '--file', file]).code).toBe(1);
    const headless = write('headless.json', JSON.stringify(chain.receipts));
    const unchecked = governor(['audit', 'verify', '--file', headless]);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toContain('no signed head: a cut-off tail would go unnoticed');
    expect(unchecked.stdout).toContain('v1 chain format');
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

describe('the start of a log cannot be forged (issue 15)', () => {
  const key = generateSigningKey('audit-test');
  const publicKey = `${key.kid}=${key.publicKey}`;
  const receipts: Receipt[] = [];
  for (let i = 0, tip = GENESIS_TIP; i < 11; i++) {
    const r = appendReceipt(tip, { eventId: `e-${i}`, customerRef: 'a'.repeat(64), type: 'UsageReported', outcomes: [], payloadDigest: eventDigest({ i }), committedAt: 1_767_000_000_000 + i });
    receipts.push(r);
    tip = tipOf(r);
  }
  const treeHead = (size: number) =>
    signTreeHead({ logId: 'log-1', treeSize: size, rootHash: frontierRoot(frontierOfReceipts(receipts.slice(0, size))), firstSeq: 0, signedAt: 1_767_000_100_000 }, key);

  it('a v1 export cut to its last receipt, with the file’s anchor set to that receipt’s prevHash, exits 1 (the anchor is not trusted)', () => {
    const last = receipts.at(-1)!;
    const v1Head = signChainHead({ chainId: 'log-1', tip: tipOf(last), signedAt: 1_767_000_100_000 }, key);
    const forged = write('forged-v1.json', JSON.stringify({ receipts: [last], anchor: { seq: 9, hash: last.prevHash }, head: v1Head }));
    const run = governor(['audit', 'verify', '--file', forged, '--public-key', publicKey]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('damaged at position 0: deleted');
    expect(run.stdout).toContain('cannot prove where the chain starts');
    expect(run.stdout).toContain('not trusted');
    // The verifier may give a start it trusts itself, on the command line.
    const anchored = governor(['audit', 'verify', '--file', forged, '--public-key', publicKey, '--anchor', `9:${last.prevHash}`]);
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toContain('from the --anchor you gave');
  });

  it('a v2 export verifies from genesis; with its first receipts dropped it exits 1, and an anchor in it is refused', () => {
    const ok = governor(['audit', 'verify', '--file', write('log.json', JSON.stringify({ receipts, head: treeHead(11) })), '--public-key', publicKey]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('the signed head verifies: its Merkle root covers receipts 0–10');
    expect(ok.stdout).toContain('whole from genesis');
    const dropped = governor(['audit', 'verify', '--file', write('dropped.json', JSON.stringify({ receipts: receipts.slice(10), head: treeHead(11) })), '--public-key', publicKey]);
    expect(dropped.code).toBe(1);
    expect(dropped.stdout).toContain('deleted');
    const anchored = write('anchored.json', JSON.stringify({ receipts: receipts.slice(10), anchor: { seq: 9, hash: receipts[10]!.prevHash }, head: treeHead(11) }));
    const refused = governor(['audit', 'verify', '--file', anchored, '--public-key', publicKey]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('a v2 log has no anchor');
  });

  it('audit prove: an inclusion proof by event id and a consistency proof from an earlier head, checked offline by audit verify --proof', () => {
    const file = write('prove.json', JSON.stringify({ receipts, head: treeHead(11) }));
    const inclusion = governor(['audit', 'prove', '--file', file, '--event-id', 'e-4']);
    expect(inclusion.code, inclusion.stderr).toBe(0);
    const proofFile = write('inclusion.json', inclusion.stdout);
    const verified = governor(['audit', 'verify', '--proof', proofFile, '--public-key', publicKey]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('receipt 4 is in the log');
    const proof = JSON.parse(inclusion.stdout) as { receipt: Receipt };
    proof.receipt = receipts[5]!;
    expect(governor(['audit', 'verify', '--proof', write('wrong.json', JSON.stringify(proof)), '--public-key', publicKey]).code).toBe(1);

    const earlier = write('head-6.json', JSON.stringify(treeHead(6)));
    const consistency = governor(['audit', 'prove', '--file', file, '--from-head', earlier, '--out', join(dir, 'consistency.json')]);
    expect(consistency.code, consistency.stderr).toBe(0);
    const consistent = governor(['audit', 'verify', '--proof', join(dir, 'consistency.json'), '--public-key', publicKey, '--json']);
    expect(consistent.code).toBe(0);
    expect(JSON.parse(consistent.stdout)).toEqual({ ok: true, kind: 'consistency', first: 6, second: 11 });
    // An earlier head of a different history (receipt 2 rewritten) is not extended by this log.
    const other = receipts.slice(0, 6).map((r, i) => (i === 2 ? { ...r, entry: { ...r.entry, committedAt: 1 } } : r));
    const otherHead = signTreeHead({ logId: 'log-1', treeSize: 6, rootHash: frontierRoot(frontierOfReceipts(other)), firstSeq: 0, signedAt: 1 }, key);
    const forgedProof = { ...(JSON.parse(readFileSync(join(dir, 'consistency.json'), 'utf8')) as object), first: otherHead };
    const inconsistent = governor(['audit', 'verify', '--proof', write('inconsistent.json', JSON.stringify(forgedProof)), '--public-key', publicKey]);
    expect(inconsistent.code).toBe(1);
    expect(inconsistent.stdout).toContain('inconsistent');
    expect(governor(['audit', 'prove', '--file', file]).code).toBe(2);
    expect(governor(['audit', 'verify', '--proof', proofFile]).code).toBe(2);
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
