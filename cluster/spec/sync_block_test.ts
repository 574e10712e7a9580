import assert from "node:assert/strict";
import { ClusterFileError, loadClusterFile, parseClusterFile } from "./cluster_file.ts";
import { secretProblem } from "./sync_block.ts";

const SECRET = "00112233445566778899AABBCCDDEEFF";

const base = `cluster: t
nodes:
  - name: n1
    address: 10.0.0.11
    ssh: { host: 10.0.1.11, key: /k, knownHosts: /kh }
    lips: [10.0.0.100]
    ospf: { interface: eth0 }
    dataplane: { vdev: net_null0, portAddress: 10.0.0.11/24 }
vips: []
`;

function problems(text: string, readSecretFile?: (p: string) => string): string[] {
  try {
    parseClusterFile(text, "c.yaml", readSecretFile ? { readSecretFile } : {});
  } catch (e) {
    assert.ok(e instanceof ClusterFileError, `a ClusterFileError, got ${e}`);
    return e.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
  }
  return [];
}

Deno.test("parseClusterFile() turns sync on with a sync: block, with its defaults", () => {
  assert.equal(parseClusterFile(base).sync, undefined, "no block: sync off");
  const c = parseClusterFile(`${base}sync: { secret: ${SECRET} }\n`);
  assert.deepEqual(c.sync, { secret: SECRET.toLowerCase(), port: 1000, refreshSeconds: 10 });
  const d = parseClusterFile(
    `${base}sync:\n  secret: ${SECRET}\n  port: 999\n  refreshSeconds: 60\n`,
  );
  assert.deepEqual([d.sync?.port, d.sync?.refreshSeconds], [999, 60]);
});

Deno.test("parseClusterFile() reads sync.secretFile through the reader it is given", () => {
  const asked: string[] = [];
  const c = parseClusterFile(`${base}sync: { secretFile: /etc/lvsctl/sync.key }\n`, "c.yaml", {
    readSecretFile: (p) => {
      asked.push(p);
      return `${SECRET}\n`;
    },
  });
  assert.deepEqual(asked, ["/etc/lvsctl/sync.key"]);
  assert.deepEqual(c.sync, {
    secret: SECRET.toLowerCase(),
    secretFile: "/etc/lvsctl/sync.key",
    port: 1000,
    refreshSeconds: 10,
  });
});

Deno.test("parseClusterFile() reports a secret file that is not 32 hex digits at its line, never its content", () => {
  const text = `${base}sync:\n  port: 1000\n  secretFile: /etc/lvsctl/sync.key\n`;
  for (
    const [content, why] of [
      ["0011223344556677889", "19 characters, not 32 hex digits"],
      ["zz112233445566778899aabbccddeeff", "32 characters, but not all hex digits"],
      ["\n", "it is empty"],
    ]
  ) {
    const got = problems(text, () => content!);
    assert.deepEqual(got.length, 1, got.join("\n"));
    assert.ok(
      got[0]!.startsWith(
        `12:15 sync: "secretFile" /etc/lvsctl/sync.key must hold 32 hex digits (128 bits): ${why}`,
      ),
      got[0],
    );
    if (content!.trim() !== "") assert.ok(!got[0]!.includes(content!.trim()), "the key leaks");
  }
  const unreadable = problems(text, (p) => {
    throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${p}'`);
  });
  assert.deepEqual(unreadable, [
    "12:15 sync: cannot read \"secretFile\" /etc/lvsctl/sync.key: No such file or directory (os error 2): readfile '/etc/lvsctl/sync.key'",
  ]);
  assert.deepEqual(problems(text), [
    '12:15 sync: "secretFile" /etc/lvsctl/sync.key cannot be read: no secret file reader was given',
  ]);
});

Deno.test("parseClusterFile() reports every problem of a sync: block at once, with positions", () => {
  const text = `${base}sync:\n  secret: abc\n  port: 1024\n  refreshSeconds: 0\n  mac: siphash\n`;
  assert.deepEqual(problems(text), [
    '14:3 sync: unknown key "mac" (expected one of secret, secretFile, port, refreshSeconds)',
    '12:9 sync: "port" must be a whole number in 1..1023, got 1024',
    '13:19 sync: "refreshSeconds" must be a whole number in 1..3600, got 0',
    '11:11 sync: "secret" must be 32 hex digits: 3 characters, not 32 hex digits',
  ]);
  assert.deepEqual(problems(`${base}sync: { secret: ${SECRET}, secretFile: /k }\n`, () => SECRET), [
    '10:63 sync: give "secret" or "secretFile", not both',
  ]);
  assert.deepEqual(problems(`${base}sync: { port: 1000 }\n`), [
    '10:7 sync: "secret" or "secretFile" is required (the cluster secret, 32 hex digits)',
  ]);
  assert.deepEqual(problems(`${base}sync: on\n`), ["10:7 sync must be a mapping"]);
});

Deno.test("secretProblem() accepts 32 hex digits with surrounding white space only", () => {
  assert.equal(secretProblem(` ${SECRET}\n`), null);
  assert.equal(secretProblem(`${SECRET}00`), "34 characters, not 32 hex digits");
});

Deno.test("loadClusterFile() finds a relative secretFile beside the cluster file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/sync.key`, `${SECRET}\n`, { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/c.yaml`, `${base}sync: { secretFile: sync.key }\n`);
    assert.equal((await loadClusterFile(`${dir}/c.yaml`)).sync?.secret, SECRET.toLowerCase());
    await Deno.writeTextFile(`${dir}/c.yaml`, `${base}sync: { secretFile: missing.key }\n`);
    await assert.rejects(
      () => loadClusterFile(`${dir}/c.yaml`),
      (e) =>
        e instanceof ClusterFileError &&
        /:10:21: sync: cannot read "secretFile" missing\.key: No such file/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
