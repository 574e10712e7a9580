import assert from "node:assert/strict";
import { errorText } from "./errors.ts";

Deno.test("errorText() gives an Error's message without its name", () => {
  assert.equal(errorText(new Error("table full")), "table full");
  assert.equal(errorText(new TypeError("not a VIP")), "not a VIP");
  class BirdError extends Error {
    override name = "BirdError";
  }
  assert.equal(errorText(new BirdError("8003 no such protocol")), "8003 no such protocol");
});

Deno.test("errorText() turns anything else thrown into its string", () => {
  assert.equal(errorText("refused"), "refused");
  assert.equal(errorText(42), "42");
  assert.equal(errorText(undefined), "undefined");
  assert.equal(errorText(null), "null");
  assert.equal(errorText({ toString: () => "odd thing" }), "odd thing");
});
