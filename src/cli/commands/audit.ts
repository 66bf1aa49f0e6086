import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyReceiptChain, type ReceiptChainVerification } from '../../marketplace/receipt-verification.ts';
import { GENESIS_TIP, type ChainTip } from '../../marketplace/receipts.ts';
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

function parseAnchor(value: unknown): ChainTip {
  if (value === undefined) return GENESIS_TIP;
  const anchor = value as { seq?: unknown; hash?: unknown } | null;
  if (anchor && typeof anchor === 'object' && Number.isSafeInteger(anchor.seq) && (anchor.seq as number) >= -1 && typeof anchor.hash === 'string' && /^[0-9a-f]{64}$/.test(anchor.hash)) {
    return { seq: anchor.seq as number, hash: anchor.hash };
  }
  throw new CliError('--file: `anchor` must be { seq: integer ≥ -1, hash: 64 hex digits }');
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

interface VerifyFlags {
  file: string;
  publicKey?: string[];
  head?: string;
  json?: boolean;
}

/** `governor audit verify`: 0 verified, 1 damaged (first bad position and kind), 2 unreadable input. */
function verify(flags: VerifyFlags): number {
  const document = readJson('--file', flags.file, MAX_EXPORT_BYTES);
  const exported = Array.isArray(document) ? { receipts: document } : (document as Record<string, unknown> | null);
  if (!exported || typeof exported !== 'object' || !Array.isArray(exported.receipts)) {
    throw new CliError('--file: expected an array of receipts, or { receipts: [...], anchor?, head? } as `governor demo --export` writes');
  }
  const anchor = parseAnchor(exported.anchor);
  let head: unknown = exported.head;
  if (flags.head !== undefined) {
    const text = flags.head.trim();
    if (text.startsWith('{')) {
      if (text.length > MAX_HEAD_BYTES) throw new CliError('--head: too long for a signed head');
      try {
        head = JSON.parse(text) as unknown;
      } catch (error) {
        throw new CliError(`--head: not JSON: ${describe(error)}`);
      }
    } else head = readJson('--head', flags.head, MAX_HEAD_BYTES);
  }
  const keys = flags.publicKey ?? [];
  if (flags.head !== undefined && keys.length === 0) throw new CliError('--head needs the trusted --public-key kid=key it was signed with');
  const checkHead = head !== undefined && head !== null && keys.length > 0;
  const result: ReceiptChainVerification = verifyReceiptChain(exported.receipts, { anchor, ...(checkHead ? { head, keyring: keyring(keys) } : {}) });
  const headNote = checkHead
    ? 'the signed head verifies and covers the chain'
    : head !== undefined && head !== null
      ? 'the signed head was NOT checked (give --public-key kid=key): a cut-off tail would go unnoticed'
      : 'no signed head: a cut-off tail would go unnoticed';
  emit({ ...result, headChecked: checkHead }, flags.json === true, () =>
    result.ok
      ? `ok: ${result.length} receipts verify (tip #${result.tip.seq} ${result.tip.hash}); ${headNote}`
      : `damaged at position ${result.position}: ${result.kind}: ${result.message}`,
  );
  return result.ok ? EXIT.ok : EXIT.failed;
}

export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('receipt chains: verify an exported chain offline');
  audit
    .command('verify')
    .description('verify an exported receipt chain: exit 0 when it verifies, 1 with the first bad position and the kind of damage, 2 for unreadable input')
    .requiredOption('--file <receipts.json>', 'the chain: an array of receipts, or { receipts, anchor?, head? } (`governor demo --export` writes one)')
    .option('--public-key <kid=key...>', 'trusted public keys for the signed head, as kid=base64url (repeatable)')
    .option('--head <json|file>', 'a signed chain head (JSON text or a file), instead of the one in --file')
    .option('--json', 'print JSON')
    .action((flags: VerifyFlags) => {
      process.exitCode = verify(flags);
    });
}
