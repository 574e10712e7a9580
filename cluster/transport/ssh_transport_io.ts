/**
 * Thin adapters from ssh2's callback and Node-stream world to promises: a channel as a
 * {@linkcode ByteDuplex}, a command run to completion, and an atomic SFTP upload. Used by
 * `ssh_transport.ts`; every function honours an `AbortSignal` by tearing its channel down.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Client, ClientChannel, SFTPWrapper, Stats } from "ssh2";
import type { ByteDuplex } from "./http_over_stream.ts";

/** Opens `direct-streamlocal@openssh.com` to a Unix socket on the server. */
export function openStreamLocal(client: Client, socketPath: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.openssh_forwardOutStreamLocal(socketPath, (err, ch) => err ? reject(err) : resolve(ch));
  });
}

/** Wraps a channel as a pull-based duplex; an abort destroys the channel and fails reads. */
export function channelDuplex(ch: ClientChannel, signal: AbortSignal): ByteDuplex {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  ch.on("data", (d: Buffer) => {
    queue.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    notify();
  });
  ch.on("end", () => {
    ended = true;
    notify();
  });
  ch.on("close", () => {
    ended = true;
    notify();
  });
  ch.on("error", (e: unknown) => {
    failure ??= e;
    notify();
  });
  const onAbort = () => {
    failure ??= signal.reason;
    ch.destroy();
    notify();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  return {
    write(bytes) {
      return new Promise((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        ch.write(Buffer.from(bytes), (err?: Error | null) => err ? reject(err) : resolve());
      });
    },
    async read() {
      for (;;) {
        if (failure !== null) throw failure;
        const next = queue.shift();
        if (next) return next;
        if (ended) return null;
        await new Promise<void>((r) => (wake = r));
      }
    },
    close() {
      signal.removeEventListener("abort", onAbort);
      ch.destroy();
    },
  };
}

/** Outcome of a remote command, with raw output. */
export interface RawExec {
  /** Exit status, or 128 + the signal number when a signal ended the command. */
  code: number;
  /** The signal's name (`TERM`, ...) when a signal ended the command. */
  signal?: string;
  /** Everything the command wrote to standard output. */
  stdout: Uint8Array;
  /** Everything the command wrote to standard error. */
  stderr: Uint8Array;
}

/** Signal numbers on Linux for the exit code of a command killed by a signal (128 + n). */
const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  ABRT: 6,
  FPE: 8,
  KILL: 9,
  SEGV: 11,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  USR1: 10,
  USR2: 12,
};

/**
 * Sends a `signal` channel request (RFC 4254 6.9; OpenSSH's sshd delivers it to the command).
 * ssh2's `Channel.signal()` refuses once stdin was closed, which `collectExec` does at once, so
 * this goes to the protocol object directly while the channel is still open on our side.
 */
function sendSignal(ch: ClientChannel, name: string): void {
  const c = ch as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  const out = c.outgoing;
  if (!out || (out.state !== "open" && out.state !== "eof")) return;
  try {
    c._client?._protocol?.signal(out.id, name);
  } catch { /* connection already gone */ }
}

/** Opens an exec channel for `command`; the promise settles once the server accepted it. */
export function openExec(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => err ? reject(err) : resolve(ch));
  });
}

/**
 * Collects a command's output and exit status. stdin is closed at once. On abort the remote
 * process is sent SIGTERM (sshd honours `signal` requests except for root sessions, hence the
 * transport's `remoteTimeout`) and the channel is closed.
 * Output beyond `maxBytes` fails the call with a `RangeError`.
 */
export function collectExec(
  ch: ClientChannel,
  signal: AbortSignal,
  maxBytes: number,
): Promise<RawExec> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let code: number | null = null;
    let sig: string | undefined;
    let settled = false;
    const take = (into: Buffer[]) => (d: Buffer) => {
      if (settled) return;
      size += d.length;
      if (size > maxBytes) {
        fail(new RangeError(`Command output exceeded ${maxBytes} bytes`));
        return;
      }
      into.push(d);
    };
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      sendSignal(ch, "TERM");
      ch.destroy();
      reject(e);
    };
    const onAbort = () => fail(signal.reason);
    if (signal.aborted) return fail(signal.reason); // opened after the deadline
    signal.addEventListener("abort", onAbort, { once: true });
    ch.on("data", take(out));
    ch.stderr.on("data", take(err));
    ch.on("exit", (c: number | null, s?: string) => {
      if (typeof c === "number") code = c;
      else if (s) {
        sig = s;
        code = 128 + (SIGNALS[s] ?? 0);
      }
    });
    ch.on("error", (e: unknown) => fail(e));
    ch.on("close", () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (code === null) {
        reject(new Error("The channel closed without an exit status"));
        return;
      }
      const r: RawExec = {
        code,
        stdout: new Uint8Array(Buffer.concat(out)),
        stderr: new Uint8Array(Buffer.concat(err)),
      };
      if (sig !== undefined) r.signal = sig;
      resolve(r);
    });
    ch.end();
  });
}

/** Starts the SFTP subsystem. */
export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) =>
    client.sftp((e, s) => {
      if (e) return reject(e);
      // A channel error fails the pending requests; without a listener it would crash.
      s.on("error", () => {});
      resolve(s);
    })
  );
}

/** Turns one SFTP callback call into a promise (errors thrown synchronously reject too). */
function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      fn((err, v) => err ? reject(err) : resolve(v));
    } catch (e) {
      reject(e);
    }
  });
}

const NO_SUCH_FILE = 2;

function errCode(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

/** `mkdir -p` over SFTP: creates each missing component of `dir` (mode 0755). */
async function sftpMkdirP(sftp: SFTPWrapper, dir: string): Promise<void> {
  const parts = dir.split("/");
  let path = dir.startsWith("/") ? "" : ".";
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    path = path === "" ? `/${part}` : `${path}/${part}`;
    const st = await sftpCall<Stats>((cb) => sftp.stat(path, cb)).catch((e) => {
      if (errCode(e) === NO_SUCH_FILE) return null;
      throw e;
    });
    if (st) {
      if (!st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
      continue;
    }
    try {
      await sftpCall<void>((cb) => sftp.mkdir(path, { mode: 0o755 }, cb as () => void));
    } catch (e) {
      // Lost a race with another creator: fine if it is a directory now.
      const again = await sftpCall<Stats>((cb) => sftp.stat(path, cb)).catch(() => null);
      if (!again?.isDirectory()) throw e;
    }
  }
}

/** Steps an upload went through (for tests and messages). */
export interface UploadReport {
  /** Bytes written. */
  bytes: number;
  /** The temporary file written before the rename. */
  tmpPath: string;
  /** Whether the server offered `fsync@openssh.com` and the data was synced. */
  fsynced: boolean;
  /** Whether the target was replaced with `posix-rename@openssh.com` (atomic). */
  atomicRename: boolean;
}

/** Where upload bytes come from (a `Deno.FsFile`). */
export interface ByteSource {
  /** Fills `buf` from the start; resolves the count, or null at end of file. */
  read(buf: Uint8Array): Promise<number | null>;
}

/**
 * Streams `source` to `<remote>.tmp-<random>` (up to 16 writes in flight), fsyncs it when the
 * server offers `fsync@openssh.com`, closes it and renames it over `remote` with
 * `posix-rename@openssh.com` (atomic replace). Without that extension the target is removed
 * first (not atomic). On any failure or abort the temporary file is removed.
 */
export async function sftpAtomicWrite(
  sftp: SFTPWrapper,
  remote: string,
  source: ByteSource,
  mode: number,
  signal: AbortSignal,
): Promise<UploadReport> {
  if (signal.aborted) throw signal.reason;
  const rand = crypto.getRandomValues(new Uint8Array(6));
  const hex = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
  const tmpPath = `${remote}.tmp-${hex}`;
  const dir = remote.includes("/") ? remote.slice(0, remote.lastIndexOf("/")) : "";
  if (dir !== "") await sftpMkdirP(sftp, dir);
  const handle = await sftpCall<Buffer>((cb) => sftp.open(tmpPath, "w", { mode }, cb));
  let open = true;
  const report: UploadReport = { bytes: 0, tmpPath, fsynced: false, atomicRename: false };
  try {
    const CHUNK = 32 * 1024, WINDOW = 16;
    const inflight = new Set<Promise<void>>();
    let failed: unknown = null;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (failed !== null) throw failed;
      const buf = Buffer.alloc(CHUNK);
      let len = 0;
      while (len < CHUNK) {
        const n = await source.read(buf.subarray(len));
        if (n === null) break;
        len += n;
      }
      if (len === 0) break;
      const off = report.bytes;
      report.bytes += len;
      const p: Promise<void> = sftpCall<void>((cb) =>
        sftp.write(handle, buf, 0, len, off, (e) => cb(e, undefined))
      ).then(() => void inflight.delete(p), (e) => {
        inflight.delete(p);
        failed ??= e;
      });
      inflight.add(p);
      if (inflight.size >= WINDOW) await Promise.race(inflight);
      if (len < CHUNK) break;
    }
    await Promise.all(inflight);
    if (failed !== null) throw failed;
    if (signal.aborted) throw signal.reason;
    try {
      await sftpCall<unknown>((cb) => sftp.ext_openssh_fsync(handle, cb));
      report.fsynced = true;
    } catch (e) {
      if (!/does not support/.test(String(e))) throw e;
    }
    open = false;
    await sftpCall<void>((cb) => sftp.close(handle, cb as () => void));
    if (signal.aborted) throw signal.reason;
    try {
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmpPath, remote, cb as () => void));
      report.atomicRename = true;
    } catch (e) {
      if (!/does not support/.test(String(e))) throw e;
      await sftpCall<void>((cb) => sftp.unlink(remote, cb as () => void)).catch(() => {});
      await sftpCall<void>((cb) => sftp.rename(tmpPath, remote, cb as () => void));
    }
    return report;
  } catch (e) {
    if (open) await sftpCall<void>((cb) => sftp.close(handle, cb as () => void)).catch(() => {});
    await sftpCall<void>((cb) => sftp.unlink(tmpPath, cb as () => void)).catch(() => {});
    throw e;
  }
}
