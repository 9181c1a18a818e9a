const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** KSUID epoch: 2014-05-13T16:53:20Z. */
const EPOCH_SECONDS = 1_400_000_000;

/**
 * Encodes a KSUID (segmentio/ksuid) from a time and 16 random bytes: 4 bytes of seconds since the
 * KSUID epoch, then the random bytes, as 27 base62 characters. Pure, so the interpreter workflow can
 * mint ids from its deterministic clock and random source.
 */
export function encodeKsuid(nowMs: number, random: ArrayLike<number>): string {
  let value = BigInt(Math.floor(nowMs / 1000) - EPOCH_SECONDS);
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt((random[i] ?? 0) & 0xff);
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(27, '0');
}
