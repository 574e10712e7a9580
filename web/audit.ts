/**
 * Audit logs: who did what, when, and how it ended. {@link FileAuditLog} appends JSON lines to a
 * file (one entry per line, never rewritten); {@link MemoryAuditLog} keeps entries in memory for
 * tests and demos. Both implement {@link AuditLog} and pass the same conformance tests.
 *
 * @example
 * ```ts
 * const log = new FileAuditLog("/var/log/lvs/audit.jsonl");
 * await log.append({
 *   time: new Date().toISOString(), who: "alice", action: "drain", target: "node2",
 *   result: "ok", via: "ui",
 * });
 * ```
 *
 * @module
 */
import type { AuditEntry, AuditLog } from "./fleet.ts";

/** Audit log kept in memory (bounded: the oldest entries are dropped past `capacity`). */
export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  append(entry: AuditEntry): Promise<void> {
    this.entries.push({ ...entry });
    if (this.entries.length > this.#capacity) this.entries.shift();
    return Promise.resolve();
  }

  recent(limit: number): Promise<AuditEntry[]> {
    if (limit <= 0) return Promise.resolve([]);
    return Promise.resolve(this.entries.slice(-limit).reverse());
  }
}

/** Error raised when the audit log file cannot be written or read. */
export class AuditLogError extends Error {
  override name = "AuditLogError";
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/** Bytes read from the end of the file to answer {@link FileAuditLog.recent}. */
const TAIL_BYTES = 256 * 1024;

/**
 * Audit log appended to a JSON-lines file (created with mode 0600 when missing). Each append is a
 * single `write` of one line with `O_APPEND`, so concurrent dashboards do not interleave lines.
 */
export class FileAuditLog implements AuditLog {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async append(entry: AuditEntry): Promise<void> {
    let line = JSON.stringify(entry) + "\n";
    try {
      const file = await Deno.open(this.path, {
        read: true,
        append: true,
        create: true,
        mode: 0o600,
      });
      try {
        // A torn last line (a crash mid-write) must not swallow this entry: start a new line.
        const size = (await file.stat()).size;
        if (size > 0) {
          const last = new Uint8Array(1);
          await file.seek(size - 1, Deno.SeekMode.Start);
          if ((await file.read(last)) === 1 && last[0] !== 0x0a) line = "\n" + line;
        }
        const bytes = new TextEncoder().encode(line);
        let off = 0;
        while (off < bytes.length) off += await file.write(bytes.subarray(off));
      } finally {
        file.close();
      }
    } catch (err) {
      throw new AuditLogError(
        `Cannot append to the audit log ${this.path}: ${(err as Error).message}`,
        this.path,
        { cause: err },
      );
    }
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    let text: string;
    try {
      const file = await Deno.open(this.path, { read: true });
      try {
        const size = (await file.stat()).size;
        const start = Math.max(0, size - TAIL_BYTES);
        await file.seek(start, Deno.SeekMode.Start);
        const buf = new Uint8Array(size - start);
        let off = 0;
        while (off < buf.length) {
          const n = await file.read(buf.subarray(off));
          if (n === null) break;
          off += n;
        }
        text = new TextDecoder().decode(buf.subarray(0, off));
        // A tail that starts mid-file starts mid-line: drop the partial first line.
        if (start > 0) text = text.slice(text.indexOf("\n") + 1);
      } finally {
        file.close();
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw new AuditLogError(
        `Cannot read the audit log ${this.path}: ${(err as Error).message}`,
        this.path,
        { cause: err },
      );
    }
    const out: AuditEntry[] = [];
    const lines = text.split("\n");
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const line = lines[i]!.trim();
      if (line === "") continue;
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        // A torn or hand-edited line: skip it rather than hide every other entry.
      }
    }
    return out;
  }
}
