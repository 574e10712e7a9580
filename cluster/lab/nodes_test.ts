import assert from "node:assert/strict";
import { labPort, labVdev } from "./nodes.ts";

Deno.test("labPort() is af_xdp unless LVS_LAB_PORT chooses af_packet, and refuses anything else", () => {
  assert.equal(labPort(undefined), "af_xdp");
  assert.equal(labPort(""), "af_xdp");
  assert.equal(labPort("af_packet"), "af_packet");
  assert.equal(labPort("af_xdp"), "af_xdp");
  assert.throws(() => labPort("xdp"), /LVS_LAB_PORT must be af_packet or af_xdp, got "xdp"/);
});

Deno.test("labVdev() puts the data plane on the uplink, with the XDP filter on AF_XDP", () => {
  assert.equal(labVdev("eth0", "af_packet"), "net_af_packet0,iface=eth0,qpairs=1");
  assert.equal(
    labVdev("eth0", "af_xdp"),
    "net_af_xdp0,iface=eth0,start_queue=0,queue_count=1,xdp_prog=fnat",
  );
});
