import assert from "node:assert/strict";
import { shellCommandLine, shellQuote } from "./ssh_transport_shell.ts";

Deno.test("shellQuote() leaves plain words bare and single-quotes the rest", () => {
  const cases: Array<[string, string]> = [
    ["lvs-agent", "lvs-agent"],
    ["/opt/lvs/releases/1.2.3", "/opt/lvs/releases/1.2.3"],
    ["--batch=2", "--batch=2"],
    ["", "''"],
    ["a b", "'a b'"],
    ["it's", `'it'\\''s'`],
    ["$HOME", "'$HOME'"],
    ["`id`", "'`id`'"],
    ["*", "'*'"],
    ["~root", "'~root'"],
    ["line1\nline2", "'line1\nline2'"],
    ["a;b&&c|d", "'a;b&&c|d'"],
  ];
  for (const [arg, want] of cases) assert.equal(shellQuote(arg), want, JSON.stringify(arg));
});

Deno.test("shellCommandLine() round-trips hostile argv through a real sh", async () => {
  const argv = ["printf", "%s\\n", "", "a b", "it's", "$HOME", "`id`", "*", "x\ny", "'\"\\", "-n"];
  const out = await new Deno.Command("sh", {
    args: ["-c", shellCommandLine(argv)],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout), argv.slice(2).join("\n") + "\n");
});

Deno.test("shellCommandLine() refuses an empty argv and NUL bytes", () => {
  assert.throws(() => shellCommandLine([]), /empty command/);
  assert.throws(() => shellCommandLine([""]), /empty command/);
  assert.throws(() => shellCommandLine(["echo", "a\0b"]), /NUL byte/);
});
