import assert from "node:assert/strict";
import { readJsonFile, writeJsonAtomic } from "./json_file.ts";

Deno.test("readJsonFile() reads what writeJsonAtomic() wrote (0600); a missing file is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.json`;
    assert.equal(await readJsonFile(path, "The file"), undefined);
    await writeJsonAtomic(path, { a: [1, 2] });
    assert.deepEqual(await readJsonFile(path, "The file"), { a: [1, 2] });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.json"]);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJsonFile() refuses an empty or torn file naming it, its role and its size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.json`;
    for (
      const [text, re] of [["", /^Saved thing .*x\.json is not valid JSON \(0 bytes\)$/], [
        '{"a',
        /\(3 bytes\)$/,
      ]] as const
    ) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(
        readJsonFile(path, "Saved thing"),
        (e: unknown) =>
          e instanceof SyntaxError && re.test(e.message) && e.cause instanceof SyntaxError,
      );
    }
    await assert.rejects(
      readJsonFile(dir, "Saved thing"),
      (e: unknown) => !(e instanceof SyntaxError),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
