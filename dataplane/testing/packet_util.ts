/**
 * Helpers shared by the packet builders and parser: hex and the Internet checksum (IPv4
 * addresses come from `routing/ipv4.ts`, MAC addresses from `dataplane/binding/mac.ts`).
 *
 * @module
 */

export { formatMac, macBytes } from "../binding/mac.ts";
import { ipv4Bytes } from "../../routing/ipv4.ts";

/** Lower-case hex of the bytes, no separators. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Parses hex into bytes. Whitespace is ignored and `#` starts a comment to the end of the line,
 * so fixture files can annotate the layers.
 */
export function fromHex(text: string): Uint8Array {
  const hex = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(hex)) {
    throw new SyntaxError(
      `Cannot parse hex: expected pairs of hex digits, got "${hex.slice(0, 40)}"`,
    );
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Adds the bytes as big-endian 16-bit words to `acc` (one's complement, not yet folded). */
function sum16(data: Uint8Array, acc = 0): number {
  let s = acc;
  const n = data.length & ~1;
  for (let i = 0; i < n; i += 2) s += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) s += data[data.length - 1]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The Internet checksum (RFC 1071) of `data` plus an initial sum (e.g. a pseudo-header): the
 * one's complement of the folded one's complement sum. Over data that contains a correct checksum
 * field the result is 0.
 */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  return ~fold(sum16(data, initial)) & 0xffff;
}

/** The unfolded sum of the TCP/UDP pseudo-header (source, destination, protocol, length). */
export function pseudoHeaderSum(
  src: string,
  dst: string,
  protocol: number,
  length: number,
): number {
  return sum16(ipv4Bytes(dst), sum16(ipv4Bytes(src))) + protocol + length;
}

/** The TCP or UDP checksum of a whole segment (its checksum field included as it stands). */
export function l4Checksum(
  src: string,
  dst: string,
  protocol: number,
  segment: Uint8Array,
): number {
  return internetChecksum(segment, pseudoHeaderSum(src, dst, protocol, segment.length));
}

/** TCP flag letters in tcpdump's order; bit i of the flags byte is letter i. */
const FLAG_LETTERS = "FSRPAUEC";

/** Converts TCP flag bits (0x12) to letters in tcpdump's order ("SA"). */
export function tcpFlagLetters(bits: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) if (bits & (1 << i)) s += FLAG_LETTERS[i];
  return s;
}

/** Converts flag letters ("SA") to the TCP flag bits (0x12). */
export function tcpFlagBits(letters: string): number {
  let bits = 0;
  for (const ch of letters) {
    const i = FLAG_LETTERS.indexOf(ch);
    if (i < 0) throw new TypeError(`Cannot build TCP flags "${letters}": unknown letter "${ch}"`);
    bits |= 1 << i;
  }
  return bits;
}
