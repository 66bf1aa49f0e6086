/**
 * A key's Redis Cluster hash slot, as Redis computes it (the Cluster specification): CRC16-XMODEM
 * of the hash tag — the part between the first `{` and the first `}` after it, when not empty —
 * else of the whole key, modulo 16384. Written out here so tests need no transitive dependency;
 * checked against Redis' own examples in key-layout.test.ts and against CLUSTER KEYSLOT on a real
 * cluster in key-spread.redis.test.ts.
 */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
