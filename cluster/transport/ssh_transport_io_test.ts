/**
 * The stream adapters of the SSH transport against a scripted channel (an EventEmitter with
 * the parts of ssh2's ClientChannel they use). Real channels are exercised in
 * `tests/ssh_transport_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type { ClientChannel } from "ssh2";
import { channelDuplex, collectExec } from "./ssh_transport_io.ts";

class ScriptedChannel extends EventEmitter {
  stderr = new EventEmitter();
  written: Buffer[] = [];
  ended = false;
  destroyed = false;
  write(b: Buffer, cb: (e?: Error | null) => void): boolean {
    this.written.push(b);
    queueMicrotask(() => cb());
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  get asChannel(): ClientChannel {
    return this as unknown as ClientChannel;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("collectExec() gathers stdout and stderr and closes stdin at once", async () => {
  const ch = new ScriptedChannel();
  const p = collectExec(ch.asChannel, new AbortController().signal, 1024);
  assert.ok(ch.ended, "stdin is closed so commands reading it do not hang");
  ch.emit("data", Buffer.from("out1 "));
  ch.stderr.emit("data", Buffer.from("err"));
  ch.emit("data", Buffer.from("out2"));
  ch.emit("exit", 3);
  ch.emit("close");
  const r = await p;
  assert.equal(r.code, 3);
  assert.equal(new TextDecoder().decode(r.stdout), "out1 out2");
  assert.equal(new TextDecoder().decode(r.stderr), "err");
});

Deno.test("collectExec() reports a command killed by a signal as 128 + its number", async () => {
  const ch = new ScriptedChannel();
  const p = collectExec(ch.asChannel, new AbortController().signal, 1024);
  ch.emit("exit", null, "TERM", false, "");
  ch.emit("close");
  const r = await p;
  assert.equal(r.code, 143);
  assert.equal(r.signal, "TERM");
});

Deno.test("collectExec() fails when the channel closes without an exit status", async () => {
  const ch = new ScriptedChannel();
  const p = collectExec(ch.asChannel, new AbortController().signal, 1024);
  ch.emit("close");
  await assert.rejects(p, /without an exit status/);
});

Deno.test("collectExec() stops a command whose output exceeds the limit", async () => {
  const ch = new ScriptedChannel();
  const p = collectExec(ch.asChannel, new AbortController().signal, 10);
  ch.emit("data", Buffer.from("0123456789"));
  ch.stderr.emit("data", Buffer.from("x"));
  await assert.rejects(p, RangeError);
  assert.ok(ch.destroyed);
});

Deno.test("collectExec() tears the channel down on abort, also when already aborted", async () => {
  const ch = new ScriptedChannel();
  const ac = new AbortController();
  const p = collectExec(ch.asChannel, ac.signal, 1024);
  ac.abort(new Error("deadline"));
  await assert.rejects(p, /deadline/);
  assert.ok(ch.destroyed);

  const late = new ScriptedChannel();
  await assert.rejects(collectExec(late.asChannel, ac.signal, 1024), /deadline/);
  assert.ok(late.destroyed, "a channel opened after the deadline is closed at once");
});

Deno.test("channelDuplex() delivers data in order, then end of stream", async () => {
  const ch = new ScriptedChannel();
  const d = channelDuplex(ch.asChannel, new AbortController().signal);
  await d.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  assert.equal(Buffer.concat(ch.written).toString(), "GET / HTTP/1.1\r\n\r\n");
  const reading = d.read();
  ch.emit("data", Buffer.from("ab"));
  ch.emit("data", Buffer.from("cd"));
  assert.equal(new TextDecoder().decode((await reading)!), "ab");
  assert.equal(new TextDecoder().decode((await d.read())!), "cd");
  ch.emit("end");
  assert.equal(await d.read(), null);
  d.close();
  assert.ok(ch.destroyed);
});

Deno.test("channelDuplex() fails a pending read on a channel error or abort", async () => {
  const ch = new ScriptedChannel();
  const d = channelDuplex(ch.asChannel, new AbortController().signal);
  const reading = d.read();
  ch.emit("error", new Error("channel reset"));
  await assert.rejects(reading, /channel reset/);

  const ch2 = new ScriptedChannel();
  const ac = new AbortController();
  const d2 = channelDuplex(ch2.asChannel, ac.signal);
  const pending = d2.read();
  await tick();
  ac.abort(new Error("deadline"));
  await assert.rejects(pending, /deadline/);
  assert.ok(ch2.destroyed);
  await assert.rejects(d2.write(new Uint8Array([1])), /deadline/);
});
