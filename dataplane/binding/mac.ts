/**
 * MAC addresses: parsed from and formatted to "02:00:5e:00:00:01".
 *
 * @module
 */

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Parses a MAC address "02:00:00:00:00:01" into its 6 bytes. */
export function macBytes(mac: string): Uint8Array {
  if (!MAC.test(mac)) {
    throw new TypeError(
      `Cannot parse MAC address "${mac}": expected six hex pairs like 02:00:5e:00:00:01`,
    );
  }
  return Uint8Array.from(mac.split(":").map((x) => parseInt(x, 16)));
}

/** Formats 6 bytes at `off` as a lower-case MAC address. */
export function formatMac(b: Uint8Array, off = 0): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
}
