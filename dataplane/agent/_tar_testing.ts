/**
 * Test helper: writes gzipped ustar tarballs with exactly the members a test asks for,
 * including the ones a release must never hold (absolute names, `..`, devices, links out), so
 * the readers and the node's switch script are tested against real bytes. Not part of the
 * public API.
 *
 * @module
 */

/** One member to write. */
export interface TarMember {
  path: string;
  type?: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
  content?: string;
  link?: string;
  /** Permission bits (default 0o644 for files, 0o755 for directories, 0o777 for links). */
  mode?: number;
  uid?: number;
  gid?: number;
}

const FLAG = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

function header(m: TarMember, size: number): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(512);
  const enc = new TextEncoder();
  const put = (off: number, len: number, s: string) => {
    const b = enc.encode(s);
    if (b.length > len) throw new RangeError(`${m.path}: '${s}' does not fit ${len} bytes`);
    h.set(b, off);
  };
  const octal = (off: number, len: number, n: number) =>
    put(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
  const type = m.type ?? "file";
  const mode = m.mode ?? (type === "dir" ? 0o755 : type === "symlink" ? 0o777 : 0o644);
  put(0, 100, m.path);
  octal(100, 8, mode);
  octal(108, 8, m.uid ?? 0);
  octal(116, 8, m.gid ?? 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  put(148, 8, "        ");
  put(156, 1, FLAG[type]);
  put(157, 100, m.link ?? "");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  if (type === "char" || type === "block") {
    octal(329, 8, 1);
    octal(337, 8, 3);
  }
  const sum = h.reduce((a, b) => a + b, 0);
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** The members as a gzipped tarball. */
export async function tarGz(members: readonly TarMember[]): Promise<Uint8Array<ArrayBuffer>> {
  const blocks: Uint8Array<ArrayBuffer>[] = [];
  for (const m of members) {
    const body = new TextEncoder().encode(
      m.type === undefined || m.type === "file" ? m.content ?? "" : "",
    );
    blocks.push(header(m, body.length));
    const padded = new Uint8Array(Math.ceil(body.length / 512) * 512);
    padded.set(body);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const stream = new Blob(blocks).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A small acceptable release: VERSION, a directory, a file, a link inside. */
export function releaseMembers(version: string): TarMember[] {
  return [
    { path: "./", type: "dir" },
    { path: "./VERSION", content: `${version}\n` },
    { path: "./dataplane/", type: "dir" },
    { path: "./dataplane/agent.ts", content: "console.log('agent');\n", mode: 0o755 },
    { path: "./dataplane/VERSION.link", type: "symlink", link: "../VERSION" },
  ];
}
