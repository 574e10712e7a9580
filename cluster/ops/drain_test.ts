import assert from "node:assert/strict";
import { FakeTransport } from "../transport/fake_transport.ts";
import { parseClusterFile } from "../spec/cluster_file.ts";
import { nodeConfigs } from "../spec/node_config.ts";
import { drainNode } from "../transport/endpoint.ts";
import { watchDrain } from "./drain.ts";

const LAB = parseClusterFile(
  Deno.readTextFileSync(new URL("../../fixtures/lab.yaml", import.meta.url)),
  "lab.yaml",
);
const VIPS = new Set(LAB.vips.map((v) => `${v.address}/32`));

async function setup(sessions: number, endPerRead: number, forwardedPerRead: number) {
  const fake = new FakeTransport(LAB.nodes.map((n) => n.name));
  for (const [name, cfg] of await nodeConfigs(LAB)) fake.node(name).config = cfg;
  Object.assign(fake.node("node2"), {
    sessions,
    sessionsEndPerRead: endPerRead,
    forwardedInPerRead: forwardedPerRead,
  });
  let now = 0;
  const lines: string[] = [];
  const node = LAB.nodes[1]!;
  const watch = {
    transport: fake,
    node,
    vips: VIPS,
    threshold: 0,
    timeoutMs: 10_000,
    now: () => now,
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
    onProgress: (line: string) => void lines.push(line),
  };
  return { fake, node, watch, lines };
}

Deno.test("watchDrain() reports sessions falling and frames forwarded until none remain", async () => {
  const { fake, node, watch, lines } = await setup(40, 10, 30);
  const r = await watchDrain(await drainNode(fake, node), watch);
  assert.deepEqual(lines, [
    "node2: 20 live sessions (-10); 30 frames forwarded to it since the last look; advertises 10.77.200.2/32",
    "node2: 10 live sessions (-10); 30 frames forwarded to it since the last look; advertises 10.77.200.2/32",
    "node2: 0 live sessions (-10); 30 frames forwarded to it since the last look; advertises 10.77.200.2/32",
  ]);
  assert.deepEqual(
    { ...r, status: undefined },
    {
      status: undefined,
      withdrawn: true,
      settled: true,
      remaining: 0,
      forwardedIn: 90,
      waitedMs: 3000,
    },
  );
});

Deno.test("watchDrain() gives up at the timeout and says how many sessions remain", async () => {
  const { fake, node, watch, lines } = await setup(40, 0, 5);
  const r = await watchDrain(await drainNode(fake, node), { ...watch, timeoutMs: 2500 });
  assert.equal(lines.length, 3);
  assert.deepEqual([r.withdrawn, r.settled, r.remaining, r.forwardedIn, r.waitedMs], [
    true,
    false,
    40,
    15,
    3000,
  ]);
});
