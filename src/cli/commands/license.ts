import type { Command } from 'commander';
// The key and licence modules are imported by each action: `governor --help` does not load them.
import { CliError, EXIT } from '../exit-codes.ts';
import { emit } from '../output.ts';

function parseTime(flag: string, value: string): number {
  const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(time)) throw new CliError(`${flag}: "${value}" is not a date (ISO 8601) or epoch milliseconds`);
  return time;
}

export function licenseCommand(program: Command): void {
  const license = program.command('license').description('Ed25519-signed licence keys');
  license
    .command('keygen')
    .description('create a signing key; prints its secret seed (keep it safe) and its public key (ship it)')
    .requiredOption('--kid <id>', 'key id, e.g. 2026-11')
    .action(async (flags: { kid: string }) => {
      const { exportSigningKeySeed, generateSigningKey } = await import('../../marketplace/signing-keys.ts');
      const key = generateSigningKey(flags.kid);
      emit({ kid: key.kid, seed: exportSigningKeySeed(key), publicKey: key.publicKey }, true);
    });
  license
    .command('issue')
    .description('sign a licence and print its key')
    .requiredOption('--kid <id>', 'signing key id')
    .option('--seed <seed>', 'signing key seed (base64url); default: $GOVERNOR_SIGNING_SEED')
    .requiredOption('--id <id>', 'licence id')
    .requiredOption('--org <organisation>', 'organisation')
    .requiredOption('--tier <tier>', 'community, professional or enterprise')
    .option('--seats <n>', 'seats', '1')
    .requiredOption('--expires <date>', 'expiry (ISO 8601 or epoch ms)')
    .option('--issued <date>', 'issue time (ISO 8601 or epoch ms)', new Date().toISOString())
    .action(async (flags: Record<string, string>) => {
      const [{ issueLicence }, { signingKeyFromSeed }, { decodeBase64url }] = await Promise.all([
        import('../../marketplace/licence-key.ts'),
        import('../../marketplace/signing-keys.ts'),
        import('../../marketplace/base64url.ts'),
      ]);
      const seedText = flags.seed ?? process.env.GOVERNOR_SIGNING_SEED;
      const seed = seedText ? decodeBase64url(seedText) : undefined;
      if (!seed) throw new CliError('--seed (or GOVERNOR_SIGNING_SEED) must be the base64url seed printed by `governor license keygen`');
      const key = signingKeyFromSeed(flags.kid!, seed);
      const seats = Number(flags.seats);
      process.stdout.write(
        `${issueLicence(
          {
            id: flags.id!,
            organisation: flags.org!,
            tier: flags.tier!.toLowerCase() as never,
            seats,
            issuedAt: parseTime('--issued', flags.issued!),
            expiresAt: parseTime('--expires', flags.expires!),
          },
          key,
        )}\n`,
      );
    });
  license
    .command('verify')
    .description('verify a licence key offline with public keys only (exit 1 when rejected)')
    .argument('<key>', 'the licence key')
    .requiredOption('--public-key <kid=key...>', 'trusted public keys, as kid=base64url (repeatable)')
    .option('--json', 'print JSON')
    .action(async (keyText: string, flags: { publicKey: string[]; json?: boolean }) => {
      const [{ LicenceVerifier }, { addPublicKey, emptyKeyring }] = await Promise.all([import('../../marketplace/licence-verifier.ts'), import('../../marketplace/signing-keys.ts')]);
      let ring = emptyKeyring();
      for (const entry of flags.publicKey) {
        const eq = entry.indexOf('=');
        if (eq <= 0) throw new CliError(`--public-key: "${entry}" must be kid=base64url`);
        ring = addPublicKey(ring, { kid: entry.slice(0, eq), publicKey: entry.slice(eq + 1) });
      }
      const result = new LicenceVerifier({ keyring: ring }).verify(keyText);
      emit(result, flags.json === true, () =>
        result.ok ? `valid: ${JSON.stringify(result.licence)}` : `rejected (${result.reason}): ${result.message}`,
      );
      if (!result.ok) process.exitCode = EXIT.failed;
    });
}
