import assert from "node:assert/strict";
import {
  BirdConnectionError,
  BirdError,
  checkReply,
  parseReplies,
  ReplyReader,
  replyText,
} from "./bird_reply.ts";

Deno.test("ReplyReader joins '-' lines and leading-space continuations under their code", () => {
  const r = new ReplyReader();
  assert.equal(r.push("2002-Name       Proto"), null);
  assert.equal(r.push("1002-device1    Device"), null);
  assert.equal(r.push(" kernel1    Kernel"), null);
  const reply = r.push("0000 ");
  assert.deepEqual(reply, {
    code: 0,
    lines: [
      { code: 2002, text: "Name       Proto" },
      { code: 1002, text: "device1    Device" },
      { code: 1002, text: "kernel1    Kernel" },
      { code: 0, text: "" },
    ],
    async: [],
  });
});

Deno.test("ReplyReader keeps '+' asynchronous lines apart from the reply", () => {
  const r = new ReplyReader();
  r.push("+0024 Protocol lvs is down");
  const reply = r.push("0013 Daemon is up and running");
  assert.equal(reply?.code, 13);
  assert.deepEqual(reply?.async, ["Protocol lvs is down"]);
  assert.equal(replyText(reply!), "Daemon is up and running");
});

Deno.test("ReplyReader rejects a line that is neither coded nor a continuation", () => {
  assert.throws(() => new ReplyReader().push("garbage"), BirdConnectionError);
});

Deno.test("checkReply() raises BirdError with BIRD's code and full response for 8xxx", () => {
  const captured = "0002-Reading configuration from /tmp/bad.conf\n" +
    "8002 /tmp/bad.conf:1:38 syntax error, unexpected CF_SYM_UNDEFINED\n";
  const [reply] = parseReplies(captured);
  assert.throws(() => checkReply('configure check "/tmp/bad.conf"', reply!), (e: unknown) => {
    assert.ok(e instanceof BirdError);
    assert.equal(e.name, "BirdError");
    assert.equal(e.code, 8002);
    assert.equal(
      e.response,
      "Reading configuration from /tmp/bad.conf\n/tmp/bad.conf:1:38 syntax error, unexpected CF_SYM_UNDEFINED",
    );
    assert.match(
      e.message,
      /BIRD refused "configure check .*": \/tmp\/bad.conf:1:38 syntax error.*\(8002\)/,
    );
    return true;
  });
});

Deno.test("checkReply() raises BirdError for 9xxx parse errors and passes 0xxx replies", () => {
  const [bad, good] = parseReplies(
    "9001 syntax error, unexpected CF_SYM_UNDEFINED\n0013 Daemon is up and running\n",
  );
  assert.throws(() => checkReply("show protocolz", bad!), { name: "BirdError", code: 9001 });
  assert.equal(checkReply("show status", good!).code, 13);
});

Deno.test("parseReplies() reads the captured 'Network not found' reply as 8001", async () => {
  const text = await Deno.readTextFile(
    new URL("../fixtures/bird/router_route_missing.txt", import.meta.url),
  );
  const [r] = parseReplies(text);
  assert.equal(r?.code, 8001);
  assert.throws(() => checkReply("show route 10.77.99.9/32", r!), {
    code: 8001,
    response: "Network not found",
  });
});
