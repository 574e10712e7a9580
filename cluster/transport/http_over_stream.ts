/**
 * A minimal HTTP/1.1 client over any byte duplex (an SSH stream-local channel to the agent's
 * Unix socket in production): one request per connection with `Connection: close`, JSON
 * bodies, responses framed by `Content-Length`, `Transfer-Encoding: chunked` or end of stream.
 * {@linkcode encodeRequest} and {@linkcode HttpResponseParser} are pure; {@linkcode httpExchange}
 * drives them over a {@linkcode ByteDuplex}.
 *
 * @example
 * ```ts
 * const res = await httpExchange(duplex, { method: "GET", path: "/v1/status" });
 * console.log(res.status, decodeJsonBody(res));
 * ```
 *
 * @module
 */

/** One request. The body, when present, is sent with `Content-Length`. */
export interface HttpRequest {
  /** `GET`, `POST`, ... (an HTTP token). */
  method: string;
  /** Origin-form target: starts with `/`, visible ASCII only. */
  path: string;
  /** Extra header fields (Host, Connection and Content-Length are set by the encoder). */
  headers?: Record<string, string>;
  /** The body bytes. */
  body?: Uint8Array;
}

/** A complete response. Header names are lower-case; repeated headers are joined by ", ". */
export interface HttpResponse {
  /** Status code, e.g. 200. */
  status: number;
  /** Reason phrase, e.g. `OK` (may be empty). */
  reason: string;
  /** Header fields by lower-case name. */
  headers: Map<string, string>;
  /** The de-chunked body. */
  body: Uint8Array;
}

/** A byte stream both ways; `read()` resolves `null` at end of stream. */
export interface ByteDuplex {
  /** Sends bytes; resolves once the stream accepted them. */
  write(bytes: Uint8Array): Promise<void>;
  /** The next bytes received, or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  /** Releases the stream (both directions). */
  close(): void;
}

/** Limits that keep a misbehaving peer from exhausting memory. */
const HTTP_LIMITS = { headerBytes: 64 * 1024, bodyBytes: 64 * 1024 * 1024 } as const;

const enc = new TextEncoder();
const dec = new TextDecoder();
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Serializes a request. Adds `Host` (default `lvs-agent`), `Connection: close` and, with a
 * body, `Content-Length`. Throws `TypeError` for a method, path or header that would break the
 * framing (spaces, CR/LF).
 */
export function encodeRequest(req: HttpRequest, host = "lvs-agent"): Uint8Array {
  if (!TOKEN.test(req.method)) throw new TypeError(`Invalid HTTP method: ${req.method}`);
  if (!/^\/[\x21-\x7e]*$/.test(req.path)) {
    throw new TypeError(`Invalid HTTP path (must start with / and be visible ASCII): ${req.path}`);
  }
  const headers = new Map<string, string>([["host", host]]);
  for (const [k, v] of Object.entries(req.headers ?? {})) {
    if (!TOKEN.test(k) || /[\r\n\0]/.test(v)) {
      throw new TypeError(`Invalid HTTP header ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
    }
    headers.set(k.toLowerCase(), v);
  }
  headers.set("connection", "close");
  if (req.body !== undefined) headers.set("content-length", String(req.body.length));
  else if (req.method === "POST" || req.method === "PUT") headers.set("content-length", "0");
  headers.delete("transfer-encoding");
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  const headBytes = enc.encode(head + "\r\n");
  if (!req.body?.length) return headBytes;
  const out = new Uint8Array(headBytes.length + req.body.length);
  out.set(headBytes);
  out.set(req.body, headBytes.length);
  return out;
}

type State =
  | { at: "head" }
  | { at: "length"; left: number }
  | { at: "chunk-size" }
  | { at: "chunk-data"; left: number }
  | { at: "chunk-crlf" }
  | { at: "trailer" }
  | { at: "eof" }
  | { at: "done" };

/**
 * Incremental response parser: {@linkcode push} bytes as they arrive until it returns the
 * response; call {@linkcode end} at end of stream. Interim `1xx` responses are skipped. Throws
 * `SyntaxError` on malformed framing, `RangeError` past {@linkcode HTTP_LIMITS}.
 */
export class HttpResponseParser {
  #buf = new Uint8Array(0);
  #state: State = { at: "head" };
  #res: HttpResponse | null = null;
  #parts: Uint8Array[] = [];
  #size = 0;

  /** Feeds bytes; returns the response once it is complete, else null. */
  push(chunk: Uint8Array): HttpResponse | null {
    if (this.#state.at === "done") return this.#res;
    this.#append(chunk);
    return this.#advance();
  }

  /** Signals end of stream: returns the response or throws when it is incomplete. */
  end(): HttpResponse {
    const s = this.#state;
    if (s.at === "done") return this.#res!;
    if (s.at === "eof") return this.#finish();
    if (s.at === "head") {
      throw new SyntaxError(
        this.#buf.length === 0
          ? "Connection closed before any HTTP response"
          : `Connection closed inside the HTTP response head (${this.#buf.length} bytes)`,
      );
    }
    throw new SyntaxError(`Connection closed before the HTTP response body ended (in ${s.at})`);
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = new Uint8Array(this.#buf.length + chunk.length);
    b.set(this.#buf);
    b.set(chunk, this.#buf.length);
    this.#buf = b;
  }

  #line(): string | null {
    const i = this.#buf.indexOf(0x0a);
    if (i < 0) {
      if (this.#buf.length > HTTP_LIMITS.headerBytes) {
        throw new RangeError(`HTTP line longer than ${HTTP_LIMITS.headerBytes} bytes`);
      }
      return null;
    }
    const end = i > 0 && this.#buf[i - 1] === 0x0d ? i - 1 : i;
    const line = dec.decode(this.#buf.subarray(0, end));
    this.#buf = this.#buf.subarray(i + 1);
    return line;
  }

  #body(bytes: Uint8Array): void {
    this.#size += bytes.length;
    if (this.#size > HTTP_LIMITS.bodyBytes) {
      throw new RangeError(`HTTP body larger than ${HTTP_LIMITS.bodyBytes} bytes`);
    }
    this.#parts.push(bytes.slice());
  }

  /** Moves up to `left` buffered bytes into the body; returns how many are still to come. */
  #take(left: number): number {
    const n = Math.min(left, this.#buf.length);
    this.#body(this.#buf.subarray(0, n));
    this.#buf = this.#buf.subarray(n);
    return left - n;
  }

  #finish(): HttpResponse {
    const body = new Uint8Array(this.#size);
    let off = 0;
    for (const p of this.#parts) {
      body.set(p, off);
      off += p.length;
    }
    this.#res!.body = body;
    this.#state = { at: "done" };
    return this.#res!;
  }

  #advance(): HttpResponse | null {
    for (;;) {
      const s = this.#state;
      switch (s.at) {
        case "head": {
          const end = findHeadEnd(this.#buf);
          if (end < 0) {
            if (this.#buf.length > HTTP_LIMITS.headerBytes) {
              throw new RangeError(
                `HTTP response head longer than ${HTTP_LIMITS.headerBytes} bytes`,
              );
            }
            return null;
          }
          const head = dec.decode(this.#buf.subarray(0, end));
          this.#buf = this.#buf.subarray(end + (this.#buf[end] === 0x0d ? 4 : 2));
          this.#res = parseHead(head);
          this.#state = framing(this.#res);
          break;
        }
        case "length": {
          const left = this.#take(s.left);
          if (left > 0) {
            this.#state = { at: "length", left };
            return null;
          }
          return this.#finish();
        }
        case "chunk-size": {
          const line = this.#line();
          if (line === null) return null;
          const m = /^([0-9a-fA-F]{1,8})[ \t]*(;.*)?$/.exec(line);
          if (!m) throw new SyntaxError(`Bad HTTP chunk size line: ${JSON.stringify(line)}`);
          const size = parseInt(m[1]!, 16);
          this.#state = size === 0 ? { at: "trailer" } : { at: "chunk-data", left: size };
          break;
        }
        case "chunk-data": {
          const left = this.#take(s.left);
          if (left > 0) {
            this.#state = { at: "chunk-data", left };
            return null;
          }
          this.#state = { at: "chunk-crlf" };
          break;
        }
        case "chunk-crlf": {
          const line = this.#line();
          if (line === null) return null;
          if (line !== "") throw new SyntaxError("HTTP chunk not followed by CRLF");
          this.#state = { at: "chunk-size" };
          break;
        }
        case "trailer": {
          const line = this.#line();
          if (line === null) return null;
          if (line === "") return this.#finish();
          break; // trailer fields are ignored
        }
        case "eof": {
          this.#body(this.#buf);
          this.#buf = new Uint8Array(0);
          return null;
        }
        case "done":
          return this.#res;
      }
    }
  }
}

function findHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] !== 0x0a && buf[i] !== 0x0d) continue;
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) {
      return i;
    }
    if (buf[i] === 0x0a && buf[i + 1] === 0x0a) return i; // bare LF tolerated
  }
  return -1;
}

function parseHead(head: string): HttpResponse {
  const [statusLine = "", ...lines] = head.split(/\r?\n/);
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new SyntaxError(`Bad HTTP status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0 || !TOKEN.test(line.slice(0, i))) {
      throw new SyntaxError(`Bad HTTP header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const name = line.slice(0, i).toLowerCase();
    const value = line.slice(i + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), reason: m[2] ?? "", headers, body: new Uint8Array(0) };
}

function framing(res: HttpResponse): State {
  if (res.status >= 100 && res.status < 200) {
    // Interim response (100 Continue, 102, 103): the real one follows.
    return { at: "head" };
  }
  if (res.status === 204 || res.status === 304) return { at: "length", left: 0 };
  const te = res.headers.get("transfer-encoding");
  if (te !== undefined) {
    const codings = te.toLowerCase().split(",").map((s) => s.trim()).filter(Boolean);
    if (codings.length !== 1 || codings[0] !== "chunked") {
      throw new SyntaxError(`Unsupported HTTP Transfer-Encoding: ${te}`);
    }
    return { at: "chunk-size" };
  }
  const cl = res.headers.get("content-length");
  if (cl !== undefined) {
    const values = [...new Set(cl.split(",").map((s) => s.trim()))];
    if (values.length !== 1 || !/^\d{1,15}$/.test(values[0]!)) {
      throw new SyntaxError(`Bad HTTP Content-Length: ${cl}`);
    }
    const left = Number(values[0]);
    if (left > HTTP_LIMITS.bodyBytes) {
      throw new RangeError(`HTTP body larger than ${HTTP_LIMITS.bodyBytes} bytes: ${left}`);
    }
    return { at: "length", left };
  }
  return { at: "eof" };
}

/**
 * The body as JSON when it is JSON (by content type, or when it parses), else as text;
 * `null` for an empty body.
 */
export function decodeJsonBody(res: HttpResponse): unknown {
  if (res.body.length === 0) return null;
  const text = dec.decode(res.body);
  const json = /\bjson\b/i.test(res.headers.get("content-type") ?? "");
  try {
    return JSON.parse(text);
  } catch (e) {
    if (json) {
      throw new SyntaxError(`Bad JSON in an HTTP ${res.status} answer: ${text.slice(0, 80)}`, {
        cause: e,
      });
    }
    return text;
  }
}

/** The request body bytes and headers for a JSON value (nothing for `undefined`). */
export function jsonRequest(method: string, path: string, body?: unknown): HttpRequest {
  if (body === undefined) return { method, path, headers: { accept: "application/json" } };
  return {
    method,
    path,
    headers: { accept: "application/json", "content-type": "application/json" },
    body: enc.encode(JSON.stringify(body)),
  };
}

/**
 * Sends one request over the duplex and reads the response, then closes the duplex. The write
 * side is not half-closed first (some servers abort a response when the client sends EOF).
 * `onSent` is called once the request bytes were handed to the stream.
 */
export async function httpExchange(
  duplex: ByteDuplex,
  req: HttpRequest,
  onSent?: () => void,
): Promise<HttpResponse> {
  const parser = new HttpResponseParser();
  try {
    const bytes = encodeRequest(req);
    const sent = duplex.write(bytes);
    onSent?.();
    await sent;
    for (;;) {
      const chunk = await duplex.read();
      if (chunk === null) return parser.end();
      const res = parser.push(chunk);
      if (res) return res;
    }
  } finally {
    duplex.close();
  }
}
