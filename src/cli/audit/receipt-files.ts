/** The work of `governor audit verify` and `audit prove` (the command definitions are in commands/audit.ts). */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { proveConsistency, proveInclusion, verifyAgainstHead, verifyLogProof, verifyReceiptLog, type ReceiptLogVerification } from '../../marketplace/receipt-log.ts';
import { SignedTreeHeadSchema, type SignedTreeHead } from '../../marketplace/receipt-tree-head.ts';
import { verifyReceiptChain, type ReceiptChainVerification } from '../../marketplace/receipt-verification.ts';
import { GENESIS_TIP, ReceiptSchema, type ChainTip, type Receipt } from '../../marketplace/receipts.ts';
import { addPublicKey, emptyKeyring, type PublicKeyring } from '../../marketplace/signing-keys.ts';
import { CliError, EXIT } from '../exit-codes.ts';
import { emit } from '../output.ts';

/** Larger exports are refused before they are read. */
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

function readJson(flag: string, file: string, maxBytes: number): unknown {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > maxBytes) throw new CliError(`${flag}: ${file} is ${size} bytes, more than the ${maxBytes} accepted`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: string }).code;
    throw new CliError(`${flag}: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : describe(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${flag}: ${file} is not JSON: ${describe(error)}`);
  }
}

function parseAnchor(value: unknown, flag = '--file: `anchor`'): ChainTip | undefined {
  if (value === undefined) return undefined;
  const anchor = value as { seq?: unknown; hash?: unknown } | null;
  if (anchor && typeof anchor === 'object' && Number.isSafeInteger(anchor.seq) && (anchor.seq as number) >= -1 && typeof anchor.hash === 'string' && /^[0-9a-f]{64}$/.test(anchor.hash)) {
    return { seq: anchor.seq as number, hash: anchor.hash };
  }
  throw new CliError(`${flag} must be { seq: integer ≥ -1, hash: 64 hex digits }`);
}

/** `--anchor seq:hash`: a v1 chain's start, from a source the verifier trusts (never from the file). */
function anchorFlag(text: string): ChainTip {
  const match = /^(-?\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new CliError('--anchor must be seq:hash, e.g. 999:<64 hex digits> (the tip the chain starts after)');
  return parseAnchor({ seq: Number(match[1]), hash: match[2] }, '--anchor')!;
}

function keyring(entries: readonly string[]): PublicKeyring {
  let ring = emptyKeyring();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new CliError(`--public-key: "${entry.slice(0, 80)}" must be kid=base64url`);
    try {
      ring = addPublicKey(ring, { kid: entry.slice(0, eq), publicKey: entry.slice(eq + 1) });
    } catch (error) {
      throw new CliError(`--public-key: ${describe(error)}`);
    }
  }
  return ring;
}

export interface VerifyFlags {
  file?: string;
  proof?: string;
  publicKey?: string[];
  head?: string;
  anchor?: string;
  json?: boolean;
}

/** An export read: `{ receipts, head?, anchor? }` (or a bare array of receipts). */
function readExport(file: string): { receipts: unknown[]; head: unknown; anchor: unknown } {
  const document = readJson('--file', file, MAX_EXPORT_BYTES);
  const exported = Array.isArray(document) ? { receipts: document } : (document as Record<string, unknown> | null);
  if (!exported || typeof exported !== 'object' || !Array.isArray(exported.receipts)) {
    throw new CliError('--file: expected an array of receipts, or { receipts: [...], head? } as `governor demo --export` writes');
  }
  return { receipts: exported.receipts, head: exported.head, anchor: exported.anchor };
}

function headOption(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return readJson('--head', text, MAX_HEAD_BYTES);
  if (trimmed.length > MAX_HEAD_BYTES) throw new CliError('--head: too long for a signed head');
  try {
    return JSON.parse(trimmed) as unknown;
  } catch (error) {
    throw new CliError(`--head: not JSON: ${describe(error)}`);
  }
}

const isTreeHead = (head: unknown) => (head as { v?: unknown } | null)?.v === 2;

/**
 * `governor audit verify`: 0 verified, 1 damaged (first bad position and kind), 2 unreadable
 * input. A v2 export (signed tree head) is verified as a log from its signed start; a v1 export
 * (chain head) as a chain from the genesis, or from `--anchor` — never from the file's anchor.
 */
export function verify(flags: VerifyFlags): number {
  const keys = flags.publicKey ?? [];
  if (flags.proof !== undefined) return verifyProof(flags.proof, keys, flags.json === true);
  if (flags.file === undefined) throw new CliError('give --file <export.json> (a receipt log) or --proof <proof.json>');
  const exported = readExport(flags.file);
  const fileAnchor = parseAnchor(exported.anchor);
  const head = flags.head !== undefined ? headOption(flags.head) : exported.head;
  if (flags.head !== undefined && keys.length === 0) throw new CliError('--head needs the trusted --public-key kid=key it was signed with');
  const signed = head !== undefined && head !== null;
  const checkHead = signed && keys.length > 0;

  if (signed && isTreeHead(head)) {
    if (fileAnchor !== undefined || flags.anchor !== undefined) {
      throw new CliError('--file: a v2 log has no anchor: its start is in its signed tree head (remove `anchor`; nothing in the file is trusted for it)');
    }
    const parsed = SignedTreeHeadSchema.safeParse(head);
    const result: ReceiptLogVerification = checkHead
      ? verifyReceiptLog(exported.receipts, head, keyring(keys))
      : parsed.success
        ? verifyAgainstHead(exported.receipts, parsed.data)
        : { ok: false, position: 0, kind: 'malformed', message: 'the tree head is malformed' };
    emit({ ...result, format: 2, headChecked: checkHead }, flags.json === true, () => (result.ok ? logOk(result, checkHead) : damaged(result)));
    return result.ok ? EXIT.ok : EXIT.failed;
  }

  // A v1 chain: its head signs length and tip only, so its start is the genesis, or what the verifier says.
  const anchor = flags.anchor !== undefined ? anchorFlag(flags.anchor) : GENESIS_TIP;
  const result: ReceiptChainVerification = verifyReceiptChain(exported.receipts, { anchor, ...(checkHead ? { head, keyring: keyring(keys) } : {}) });
  const start =
    flags.anchor !== undefined
      ? `verified from the --anchor you gave (#${anchor.seq})`
      : 'verified from the genesis' + (fileAnchor !== undefined && fileAnchor.seq >= 0 ? ' (the file\u2019s `anchor` is not trusted: pass --anchor seq:hash from a source you trust)' : '');
  const headNote = checkHead
    ? 'the signed head verifies and covers the chain'
    : signed
      ? 'the signed head was NOT checked (give --public-key kid=key): a cut-off tail would go unnoticed'
      : 'no signed head: a cut-off tail would go unnoticed';
  const v1 = `v1 chain format: its head signs only length and tip and cannot prove where the chain starts; ${start}`;
  emit({ ...result, format: 1, headChecked: checkHead, note: v1 }, flags.json === true, () =>
    result.ok ? `ok: ${result.length} receipts verify (tip #${result.tip.seq} ${result.tip.hash}); ${headNote}\n${v1}` : `${damaged(result)}\n${v1}`,
  );
  return result.ok ? EXIT.ok : EXIT.failed;
}

function logOk(result: Extract<ReceiptLogVerification, { ok: true }>, checked: boolean): string {
  const last = result.firstSeq + result.treeSize - 1;
  const lines = [
    `ok: ${result.length} receipts verify (tip #${result.tip.seq} ${result.tip.hash}); ` +
      (checked
        ? `the signed head verifies: its Merkle root covers receipts ${result.firstSeq}–${last}`
        : 'the signed head was NOT checked (give --public-key kid=key): anyone could have made this root'),
  ];
  if (result.length > result.treeSize) lines.push(`receipts after #${last} are chained but not covered by this head`);
  lines.push(
    result.complete
      ? 'the log is whole from genesis'
      : `INCOMPLETE: the log starts at receipt ${result.firstSeq}; receipts 0–${result.firstSeq - 1} were archived by an older Governor and stored nowhere (the signed head says so)`,
  );
  return lines.join('\n');
}

function damaged(result: { position: number; kind: string; message: string }): string {
  return `damaged at position ${result.position}: ${result.kind}: ${result.message}`;
}

function verifyProof(file: string, keys: readonly string[], json: boolean): number {
  if (keys.length === 0) throw new CliError('--proof needs the trusted --public-key kid=key its heads were signed with');
  const proof = readJson('--proof', file, MAX_EXPORT_BYTES);
  const result = verifyLogProof(proof, keyring(keys));
  emit(result, json, () => {
    if (!result.ok) return `proof FAILS: ${result.kind}: ${result.message}`;
    return result.kind === 'inclusion'
      ? `ok: receipt ${result.seq} is in the log the signed head covers (size ${result.treeSize})`
      : `ok: the log of size ${result.second} extends the log of size ${result.first} (nothing before was changed)`;
  });
  return result.ok ? EXIT.ok : EXIT.failed;
}

export interface ProveFlags {
  file: string;
  head?: string;
  index?: string;
  eventId?: string;
  fromHead?: string;
  out?: string;
}

/** `governor audit prove`: an inclusion or a consistency proof, from an export and its signed tree head. */
export function prove(flags: ProveFlags): number {
  const exported = readExport(flags.file);
  const head = SignedTreeHeadSchema.safeParse(flags.head !== undefined ? headOption(flags.head) : exported.head);
  if (!head.success) throw new CliError('--file: no v2 signed tree head (the export of `governor demo --export`, or give --head)');
  const receipts: Receipt[] = [];
  for (const [i, r] of exported.receipts.entries()) {
    const parsed = ReceiptSchema.safeParse(r);
    if (!parsed.success) throw new CliError(`--file: receipt ${i} is not a receipt`);
    receipts.push(parsed.data);
  }
  // A proof from receipts that are not the signed ones would prove nothing: say so instead.
  const matches = verifyAgainstHead(receipts, head.data);
  if (!matches.ok) {
    process.stdout.write(`the receipts do not match the signed head: ${damaged(matches)}\n`);
    return EXIT.failed;
  }
  const given = [flags.index !== undefined, flags.eventId !== undefined, flags.fromHead !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliError('give exactly one of --index <n>, --event-id <id> (inclusion) or --from-head <head> (consistency)');
  let document: unknown;
  if (flags.fromHead !== undefined) {
    const first = SignedTreeHeadSchema.safeParse(headOption(flags.fromHead));
    if (!first.success) throw new CliError('--from-head: not a v2 signed tree head');
    if (first.data.logId !== head.data.logId || first.data.firstSeq !== head.data.firstSeq) throw new CliError('--from-head: a head of another log (logId or firstSeq differ)');
    if (first.data.treeSize > receipts.length) throw new CliError(`--from-head: covers ${first.data.treeSize} receipts; the export has ${receipts.length}`);
    document = proveConsistency(receipts, first.data, head.data as SignedTreeHead);
  } else {
    const index = flags.index !== undefined ? Number(flags.index) : receipts.findIndex((r) => r.entry.eventId === flags.eventId);
    if (flags.index !== undefined && !(Number.isSafeInteger(index) && index >= 0 && index < head.data.treeSize)) {
      throw new CliError(`--index must be a receipt the head covers: 0 to ${head.data.treeSize - 1}`);
    }
    if (index < 0 || index >= head.data.treeSize) throw new CliError(`--event-id: no receipt the head covers has eventId "${String(flags.eventId).slice(0, 80)}"`);
    document = proveInclusion(receipts, head.data, index);
  }
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (flags.out === undefined) process.stdout.write(text);
  else {
    try {
      writeFileSync(flags.out, text);
    } catch (error) {
      throw new CliError(`--out: cannot write ${flags.out}: ${describe(error)}`);
    }
  }
  return EXIT.ok;
}
