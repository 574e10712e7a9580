/**
 * Audit logs: who did what, when, and how it ended. {@link FileAuditLog} appends JSON lines to a
 * file (one entry per line, never rewritten) and rotates it by size, keeping a bounded number of
 * files; {@link MemoryAuditLog} keeps entries in memory for tests and demos. Both implement
 * {@link AuditLog} and pass the same conformance tests. {@link boundedEntry} caps the length of
 * every field before an entry made from a request is recorded.
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
import { errorText } from "../routing/errors.ts";

/** Longest value of each text field of an entry (see {@link boundedEntry}). */
export const AUDIT_FIELD_LIMITS = {
  who: 64,
  action: 64,
  target: 128,
  message: 512,
  remote: 64,
} as const;

function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * The entry with each text field cut to {@link AUDIT_FIELD_LIMITS} (a cut field says how much
 * was cut), so a request with a 2 KB URL cannot make a 2 KB audit line.
 *
 * @example
 * ```ts
 * boundedEntry({ ...entry, target: "x".repeat(2000) }).target; // "xxx…x… (1872 more characters)"
 * ```
 */
export function boundedEntry(entry: AuditEntry): AuditEntry {
  const out: AuditEntry = {
    ...entry,
    who: cap(entry.who, AUDIT_FIELD_LIMITS.who),
    action: cap(entry.action, AUDIT_FIELD_LIMITS.action),
    target: cap(entry.target, AUDIT_FIELD_LIMITS.target),
  };
  if (entry.message !== undefined) out.message = cap(entry.message, AUDIT_FIELD_LIMITS.message);
  if (entry.remote !== undefined) out.remote = cap(entry.remote, AUDIT_FIELD_LIMITS.remote);
  return out;
}

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

/** Options of {@link FileAuditLog}. */
export interface FileAuditLogOptions {
  /** Size at which the file is rotated (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept besides the current one: `audit.jsonl.1` (newest) .. `.N` (default 5). */
  keep?: number;
}

/**
 * Audit log appended to a JSON-lines file (created with mode 0600 when missing). Each append is a
 * single `write` of one line with `O_APPEND`, so concurrent dashboards do not interleave lines.
 * When a line would take the file past `maxBytes`, the file becomes `<path>.1` (the older ones
 * move up one, the oldest beyond `keep` is removed) and a new file is started, so the log uses at
 * most about `(keep + 1) × maxBytes` of disk.
 */
export class FileAuditLog implements AuditLog {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;

  constructor(path: string, options: FileAuditLogOptions = {}) {
    this.path = path;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 5;
    if (!(this.maxBytes >= 1024)) {
      throw new RangeError(`The audit log's maxBytes must be at least 1024, got ${this.maxBytes}`);
    }
    if (!Number.isInteger(this.keep) || this.keep < 1 || this.keep > 100) {
      throw new RangeError(`The audit log keeps 1 to 100 rotated files, got ${this.keep}`);
    }
  }

  /** The current file, then the rotated ones, newest first. */
  files(): string[] {
    return [this.path, ...Array.from({ length: this.keep }, (_, i) => `${this.path}.${i + 1}`)];
  }

  async #rotate(): Promise<void> {
    const files = this.files();
    await Deno.remove(files.at(-1)!).catch(() => {});
    for (let i = files.length - 2; i >= 0; i--) {
      await Deno.rename(files[i]!, files[i + 1]!).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
  }

  async append(entry: AuditEntry): Promise<void> {
    let line = JSON.stringify(entry) + "\n";
    try {
      const size = await Deno.stat(this.path).then((s) => s.size, (err) => {
        if (err instanceof Deno.errors.NotFound) return 0;
        throw err;
      });
      if (size > 0 && size + new TextEncoder().encode(line).length > this.maxBytes) {
        await this.#rotate();
      }
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
        `Cannot append to the audit log ${this.path}: ${errorText(err)}`,
        this.path,
        { cause: err },
      );
    }
  }

  async recent(limit: number): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    for (const path of this.files()) {
      if (out.length >= limit) break;
      const tail = await this.#tail(path, limit - out.length);
      if (tail === null) continue; // not there (yet, or any more)
      out.push(...tail.entries);
      // Older files only follow a file read whole: never skip the middle of one.
      if (!tail.whole) break;
    }
    return out;
  }

  /**
   * The newest `limit` entries of one file, read from its last 256 KiB (`whole` when that is all
   * of it), or null when the file is absent.
   */
  async #tail(
    path: string,
    limit: number,
  ): Promise<{ entries: AuditEntry[]; whole: boolean } | null> {
    let text: string;
    let whole = true;
    try {
      const file = await Deno.open(path, { read: true });
      try {
        const size = (await file.stat()).size;
        const start = Math.max(0, size - TAIL_BYTES);
        whole = start === 0;
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
      if (err instanceof Deno.errors.NotFound) return null;
      throw new AuditLogError(
        `Cannot read the audit log ${path}: ${errorText(err)}`,
        path,
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
    return { entries: out, whole };
  }
}
