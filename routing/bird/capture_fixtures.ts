/**
 * Developer tool: captures raw control-socket replies from a running BIRD into files, exactly as
 * BIRD sent them, for the parser tests under `fixtures/bird/`.
 *
 *   deno run -A routing/bird/capture_fixtures.ts SOCKET OUTDIR NAME=COMMAND...
 *
 * @module
 */

/** Sends one command on a fresh connection and returns the raw reply bytes as text. */
async function captureRaw(socket: string, command: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const dec = new TextDecoder();
    const buf = new Uint8Array(65536);
    let text = "";
    const readUntilFinal = async () => {
      for (;;) {
        const lines = text.split("\n");
        if (lines.slice(0, -1).some((l) => /^\d{4} /.test(l))) return;
        const n = await conn.read(buf);
        if (n === null) return;
        text += dec.decode(buf.subarray(0, n));
      }
    };
    await readUntilFinal(); // greeting
    text = "";
    await conn.write(new TextEncoder().encode(command + "\n"));
    await readUntilFinal();
    return text;
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  const [socket, outDir, ...pairs] = Deno.args;
  if (!socket || !outDir || pairs.length === 0) {
    console.error("usage: capture_fixtures.ts SOCKET OUTDIR NAME=COMMAND...");
    Deno.exit(2);
  }
  for (const p of pairs) {
    const eq = p.indexOf("=");
    const name = p.slice(0, eq), cmd = p.slice(eq + 1);
    await Deno.writeTextFile(`${outDir}/${name}.txt`, await captureRaw(socket, cmd));
    console.log(`${name}.txt <- ${cmd}`);
  }
}
