import assert from "node:assert/strict";
import {
  type ByteDuplex,
  decodeJsonBody,
  encodeRequest,
  httpExchange,
  type HttpResponse,
  HttpResponseParser,
  jsonRequest,
} from "./http_over_stream.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Captured from Deno.serve on a Unix socket (Deno 2.9.6), the server the agent runs on.
const CAPTURED = {
  json: "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 35\r\n" +
    "date: Wed, 25 Nov 2026 03:24:44 GMT\r\nconnection: close\r\n\r\n" +
    '{"version":"1.2.3","drained":false}',
  chunked: "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n" +
    "transfer-encoding: chunked\r\ndate: Wed, 25 Nov 2026 03:24:44 GMT\r\nconnection: close\r\n" +
    '\r\n7\r\n{"a":1}\r\n0\r\n\r\n',
  noContent: "HTTP/1.1 204 No Content\r\ndate: Wed, 25 Nov 2026 03:24:44 GMT\r\n" +
    "connection: close\r\n\r\n",
};

/** Feeds `text` in pieces of `step` bytes; returns the response and whether it needed EOF. */
function parse(text: string, step: number): HttpResponse {
  const bytes = enc.encode(text);
  const p = new HttpResponseParser();
  for (let i = 0; i < bytes.length; i += step) {
    const r = p.push(bytes.subarray(i, i + step));
    if (r) return r;
  }
  return p.end();
}

Deno.test("HttpResponseParser reads captured Content-Length, chunked and 204 answers in any split", () => {
  for (const step of [1, 2, 7, 64, 100_000]) {
    const a = parse(CAPTURED.json, step);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "application/json");
    assert.deepEqual(decodeJsonBody(a), { version: "1.2.3", drained: false });

    const b = parse(CAPTURED.chunked, step);
    assert.equal(b.status, 503);
    assert.equal(b.reason, "Service Unavailable");
    assert.deepEqual(decodeJsonBody(b), { a: 1 });

    const c = parse(CAPTURED.noContent, step);
    assert.equal(c.status, 204);
    assert.equal(c.body.length, 0);
    assert.equal(decodeJsonBody(c), null);
  }
});

Deno.test("HttpResponseParser joins several chunks, ignores extensions and trailers", () => {
  const text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
  for (const step of [1, 3, 1000]) {
    assert.equal(dec.decode(parse(text, step).body), "Wikipedia in\r\n\r\nchunks.");
  }
});

Deno.test("HttpResponseParser reads to end of stream without framing headers", () => {
  const r = parse("HTTP/1.0 500 Oops\r\nContent-Type: text/plain\r\n\r\nall of it", 4);
  assert.equal(r.status, 500);
  assert.equal(decodeJsonBody(r), "all of it");
});

Deno.test("HttpResponseParser skips interim 100 Continue and stops at Content-Length", () => {
  const p = new HttpResponseParser();
  const r = p.push(enc.encode(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokEXTRA",
  ));
  assert.ok(r);
  assert.equal(r.status, 201);
  assert.equal(dec.decode(r.body), "ok");
});

Deno.test("HttpResponseParser reports truncated and malformed answers", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /before any HTTP response/],
    ["HTTP/1.1 200 OK\r\nContent-Le", /inside the HTTP response head/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", /before the HTTP response body ended/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", /body ended/],
    ["SSH-2.0-OpenSSH\r\n\r\n", /Bad HTTP status line/],
    ["HTTP/1.1 200 OK\r\nno colon\r\n\r\n", /Bad HTTP header line/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", /Bad HTTP Content-Length/],
    ["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /Bad HTTP Content-Length/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", /Unsupported/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /Bad HTTP chunk size/],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", /not followed by CRLF/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parse(text, 5), re, JSON.stringify(text));
  }
  assert.throws(
    () => parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", 100),
    RangeError,
  );
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nX: " + "a".repeat(70_000), 4096), RangeError);
});

Deno.test("decodeJsonBody() rejects invalid JSON declared as JSON, returns text otherwise", () => {
  const mk = (type: string, body: string): HttpResponse => ({
    status: 500,
    reason: "",
    headers: new Map([["content-type", type]]),
    body: enc.encode(body),
  });
  assert.throws(() => decodeJsonBody(mk("application/json", "{oops")), /Bad JSON in an HTTP 500/);
  assert.equal(decodeJsonBody(mk("text/plain", "Internal Server Error")), "Internal Server Error");
});

Deno.test("encodeRequest() frames a JSON POST with Host, Connection: close and a byte Content-Length", () => {
  const text = dec.decode(encodeRequest(jsonRequest("POST", "/v1/apply", { v: "é" })));
  assert.equal(
    text,
    "POST /v1/apply HTTP/1.1\r\nhost: lvs-agent\r\naccept: application/json\r\n" +
      'content-type: application/json\r\nconnection: close\r\ncontent-length: 10\r\n\r\n{"v":"é"}',
  );
  const get = dec.decode(encodeRequest(jsonRequest("GET", "/v1/status")));
  assert.ok(!get.includes("content-length"));
  assert.ok(
    dec.decode(encodeRequest({ method: "POST", path: "/v1/drain" })).includes(
      "content-length: 0\r\n",
    ),
  );
});

Deno.test("encodeRequest() refuses request smuggling through method, path or headers", () => {
  assert.throws(() => encodeRequest({ method: "GET /x", path: "/" }), TypeError);
  assert.throws(() => encodeRequest({ method: "GET", path: "/a b" }), TypeError);
  assert.throws(() => encodeRequest({ method: "GET", path: "x" }), TypeError);
  assert.throws(
    () => encodeRequest({ method: "GET", path: "/", headers: { x: "1\r\nEvil: 1" } }),
    TypeError,
  );
});

/** An in-memory duplex that answers with `answer` split into pieces. */
class ScriptedDuplex implements ByteDuplex {
  written: Uint8Array[] = [];
  closed = false;
  #pieces: Uint8Array[];
  constructor(answer: string[]) {
    this.#pieces = answer.map((s) => enc.encode(s));
  }
  write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes);
    return Promise.resolve();
  }
  read(): Promise<Uint8Array | null> {
    return Promise.resolve(this.#pieces.shift() ?? null);
  }
  close(): void {
    this.closed = true;
  }
}

Deno.test("httpExchange() writes the request, reads the answer, reports sending and closes", async () => {
  const d = new ScriptedDuplex([CAPTURED.json.slice(0, 30), CAPTURED.json.slice(30)]);
  let sent = 0;
  const res = await httpExchange(d, jsonRequest("GET", "/v1/status"), () => sent++);
  assert.equal(res.status, 200);
  assert.equal(sent, 1);
  assert.ok(d.closed);
  assert.match(dec.decode(d.written[0]!), /^GET \/v1\/status HTTP\/1\.1\r\n/);
});

Deno.test("httpExchange() fails on a stream that ends early and still closes it", async () => {
  const d = new ScriptedDuplex(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"]);
  await assert.rejects(() => httpExchange(d, jsonRequest("GET", "/")), /body ended/);
  assert.ok(d.closed);
});
