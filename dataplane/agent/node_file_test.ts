import assert from "node:assert/strict";
import { parseNodeFile } from "./node_file.ts";

const good = {
  node: "node1",
  stateDir: "/var/lib/lvs-agent",
  dataplane: {
    eal: { lcores: "0,1", vdevs: ["net_af_packet0,iface=eth1,qpairs=1"] },
    workers: 1,
    portAddress: "10.77.0.11/24",
    gateway: "10.77.0.1",
  },
  bird: {
    socket: "/run/bird/bird.ctl",
    config: "/etc/bird/bird.conf",
    routing: {
      node: "node1",
      routerId: "10.77.0.11",
      uplink: { name: "eth1", hello: 1, dead: 4, cost: 10, bfd: false },
    },
  },
};

Deno.test("parseNodeFile() accepts a node file and defaults the control socket", () => {
  const f = parseNodeFile(JSON.stringify(good));
  assert.equal(f.socket, "/run/lvs-agent/agent.sock");
  assert.equal(f.dataplane.workers, 1);
  assert.equal(f.syncWaitMs, undefined, "the agent's default wait");
  assert.equal(parseNodeFile(JSON.stringify({ ...good, syncWaitMs: 5000 })).syncWaitMs, 5000);
});

Deno.test("parseNodeFile() refuses a sync wait that is not whole milliseconds in 0..600000", () => {
  for (const v of [-1, 1.5, "3s", 600_001]) {
    assert.throws(
      () => parseNodeFile(JSON.stringify({ ...good, syncWaitMs: v }), "n.json"),
      new RegExp(`syncWaitMs: must be a whole number of milliseconds in 0\\.\\.600000, got ${v}`),
    );
  }
});

Deno.test("parseNodeFile() reports every problem with its path", () => {
  const bad = { ...good, node: 7, dataplane: { ...good.dataplane, workers: 0, portAddress: "x" } };
  assert.throws(
    () => parseNodeFile(JSON.stringify(bad), "/etc/lvs-agent/node.json"),
    (e: Error) =>
      e instanceof TypeError && /node\.json/.test(e.message) &&
      /node: expected a string/.test(e.message) &&
      /dataplane\.workers: must be/.test(e.message) && /portAddress: "x"/.test(e.message),
  );
  assert.throws(() => parseNodeFile("{"), SyntaxError);
});
