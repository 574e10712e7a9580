/**
 * The node's data-plane port as the cluster file names it (`dataplane.vdev`), checked before
 * anything is deployed. Two ways onto a veth or NIC the kernel keeps using for BIRD and SSH:
 *
 * - `net_af_xdp0,iface=IF[,start_queue=N,queue_count=N],xdp_prog=fnat`: AF_XDP with the data
 *   plane's XDP filter (dataplane/xdp/fnat_xdp.c): the kernel keeps every frame that is not the
 *   data plane's. `xdp_prog=fnat` is this release's build/fnat_xdp.o (see `ealArgs`).
 * - `net_af_packet0,iface=IF[,qpairs=N]`: a packet socket, the fallback: the kernel processes
 *   every frame and copies it to the data plane.
 *
 * Also accepted: a PCI address (a NIC bound to DPDK) and DPDK's other virtual devices
 * (`net_null0`, `net_ring0`, `net_tap0`...), for tests. Pure.
 *
 * @module
 */

const PCI = /^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$/;

/** Why `vdev` cannot be a node's port, or undefined when it can. */
export function vdevProblem(vdev: string): string | undefined {
  if (PCI.test(vdev)) return undefined;
  const [dev, ...rest] = vdev.split(",");
  const m = /^net_([a-z_]+?)(\d+)$/.exec(dev ?? "");
  if (!m) {
    return `${
      JSON.stringify(vdev)
    } is neither a PCI address nor a DPDK virtual device (net_af_xdp0,iface=IF,xdp_prog=fnat or net_af_packet0,iface=IF)`;
  }
  const args = new Map<string, string>();
  for (const kv of rest) {
    const eq = kv.indexOf("=");
    if (eq <= 0) return `${JSON.stringify(vdev)}: "${kv}" is not key=value`;
    args.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const driver = m[1]!;
  if (driver === "af_xdp" || driver === "af_packet") {
    if (!args.get("iface")) return `${JSON.stringify(vdev)}: net_${driver} needs iface=<interface>`;
  }
  if (driver === "af_xdp") {
    const allowed = ["iface", "start_queue", "queue_count", "xdp_prog", "busy_budget"];
    const bad = [...args.keys()].find((k) => !allowed.includes(k));
    if (bad) return `${JSON.stringify(vdev)}: net_af_xdp takes no "${bad}" (${allowed.join(", ")})`;
    const prog = args.get("xdp_prog");
    if (prog === undefined) {
      return `${
        JSON.stringify(vdev)
      }: net_af_xdp needs xdp_prog=fnat (the data plane's XDP filter); without it every frame, OSPF and SSH included, goes to the data plane`;
    }
    if (prog !== "fnat" && !/^\/.+\.o$/.test(prog)) {
      return `${
        JSON.stringify(vdev)
      }: xdp_prog must be "fnat" (this release's XDP filter) or an absolute path to a BPF object, got ${
        JSON.stringify(prog)
      }`;
    }
  }
  if (driver === "af_packet") {
    const allowed = ["iface", "qpairs", "blocksz", "framesz", "framecnt", "qdisc_bypass"];
    const bad = [...args.keys()].find((k) => !allowed.includes(k));
    if (bad) {
      return `${JSON.stringify(vdev)}: net_af_packet takes no "${bad}" (${allowed.join(", ")})`;
    }
  }
  return undefined;
}
