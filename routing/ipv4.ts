/**
 * IPv4 addresses and prefixes: the one parser and formatter every part of the project uses (the
 * cluster file, the lab, routing models, the data plane's wire codecs and the test packets).
 * Strict: four decimal bytes 0-255 without leading zeros ("010.0.0.1" is refused, because other
 * tools read it as octal), prefixes 0-32.
 *
 * @example
 * ```ts
 * parseIpv4("10.0.0.1"); // 167772161
 * formatIpv4(167772161); // "10.0.0.1"
 * parseCidr("10.0.0.0/24"); // { address: 167772160, length: 24 }
 * ```
 *
 * @module
 */

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as an unsigned 32-bit number (a.b.c.d = a<<24 | ...), or null when not IPv4. */
export function parseIpv4(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  let n = 0;
  for (const part of m.slice(1)) {
    const v = Number(part);
    if (v > 255 || (part.length > 1 && part.startsWith("0"))) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Whether `text` is a dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return parseIpv4(text) !== null;
}

/** The address as a number; throws `TypeError` saying what is wrong when it is not IPv4. */
export function ipv4Number(text: string): number {
  const n = parseIpv4(text);
  if (n === null) {
    throw new TypeError(
      `Cannot parse IPv4 address ${
        JSON.stringify(text)
      }: expected a.b.c.d with bytes 0-255 and no leading zeros`,
    );
  }
  return n;
}

/** The address's 4 bytes in network order; throws `TypeError` when it is not IPv4. */
export function ipv4Bytes(text: string): Uint8Array {
  const n = ipv4Number(text);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

/** Formats an unsigned 32-bit number, or 4 bytes at `off`, as a dotted-quad address. */
export function formatIpv4(a: number | Uint8Array, off = 0): string {
  if (typeof a === "number") {
    return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");
  }
  return `${a[off]}.${a[off + 1]}.${a[off + 2]}.${a[off + 3]}`;
}

/** A parsed "a.b.c.d/len". */
export interface Cidr {
  address: number;
  length: number;
}

/** Parses "a.b.c.d/len" (len 0-32), or returns null. */
export function parseCidr(text: string): Cidr | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return null;
  const address = parseIpv4(m[1]!);
  const length = Number(m[2]);
  if (address === null || length > 32 || (m[2]!.length > 1 && m[2]!.startsWith("0"))) return null;
  return { address, length };
}

/** The network mask of a prefix length, as a number. */
function prefixMask(length: number): number {
  return length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
}

/** Whether two prefixes share any address. */
export function prefixesOverlap(a: Cidr, b: Cidr): boolean {
  const mask = prefixMask(Math.min(a.length, b.length));
  return ((a.address & mask) >>> 0) === ((b.address & mask) >>> 0);
}

/**
 * Normalises a host address to "a.b.c.d/32" ("a.b.c.d" or "a.b.c.d/32"), or returns null.
 *
 * @example
 * ```ts
 * hostPrefix("10.0.0.1"); // "10.0.0.1/32"
 * ```
 */
export function hostPrefix(text: string): string | null {
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(text.trim());
  if (!m || !isIpv4(m[1]!) || (m[2] !== undefined && m[2] !== "32")) return null;
  return `${m[1]}/32`;
}
