/**
 * The stages of `buildLabModel` (private to `topology.ts`): the names and addresses every part
 * is built from, then each namespace (switch, client, router, nodes, real servers) with the
 * switch ports it plugs in, and the router's and nodes' OSPF. Pure.
 *
 * @module
 */
import type { NodeRouting, RouterRouting } from "../../routing/model.ts";
import { formatIpv4, parseIpv4 } from "../../routing/ipv4.ts";
import type {
  LabBird,
  LabInterface,
  LabModel,
  LabNamespace,
  LabNode,
  LabTopology,
} from "./topology.ts";

/** Host number `h` of `net` (`a.b.c.d/len`); RangeError outside 1-254. */
function host(net: string, h: number, what: string): string {
  if (h < 1 || h > 254) {
    throw new RangeError(`Cannot address ${what}: host number ${h} is outside 1-254 of ${net}`);
  }
  return formatIpv4(parseIpv4(net.split("/")[0]!)! + h);
}

/** What every part of the model is named and addressed from. */
export interface LabNames {
  t: LabTopology;
  /** `<stateDir>/<prefix>`. */
  dir: string;
  /** Namespaces of the switch, the client and the router. */
  sw: string;
  cl: string;
  rt: string;
  routerAddr: string;
  routerClientAddr: string;
  clientAddr: string;
  /** Sysctls of every namespace. */
  base: Array<[string, string]>;
}

/** Names and addresses of the lab built from `t` (throws RangeError for an address out of range). */
export function labNames(t: LabTopology): LabNames {
  const p = t.prefix;
  return {
    t,
    dir: `${t.stateDir}/${p}`,
    sw: `${p}sw`,
    cl: `${p}client`,
    rt: `${p}router`,
    routerAddr: host(t.segment, t.routerHost, "the router"),
    routerClientAddr: host(t.clientNet, 1, "the router's client side"),
    clientAddr: host(t.clientNet, t.clientHost, "the client"),
    base: [
      ["net.ipv6.conf.all.disable_ipv6", "1"],
      ["net.ipv6.conf.default.disable_ipv6", "1"],
      ["net.ipv4.conf.all.accept_redirects", "0"],
    ],
  };
}

/** The prefix length of `a.b.c.d/len`. */
const prefixLength = (net: string) => net.split("/")[1];

function birdFiles({ dir }: LabNames, ns: string): LabBird {
  return {
    config: `${dir}/${ns}/bird.conf`,
    socket: `${dir}/${ns}/bird.ctl`,
    pidFile: `${dir}/${ns}/bird.pid`,
    logFile: `${dir}/${ns}/bird.log`,
  };
}

/** A veth end plugged into one of the switch's bridges. */
function switchPort(
  name: string,
  peer: NonNullable<LabInterface["peer"]>,
  bridge: string,
): LabInterface {
  return { name, addresses: [], peer, bridge, kind: "veth" };
}

/** The switch: the segment's bridge (br0), the management bridge (br1), and every port. */
export function switchNamespace(b: LabNames, ports: LabInterface[]): LabNamespace {
  const swIfs: LabInterface[] = [{ name: "br0", addresses: [], kind: "bridge" }];
  if (b.t.management) swIfs.push({ name: "br1", addresses: [], kind: "bridge" });
  swIfs.push(...ports);
  return {
    name: b.sw,
    role: "switch",
    stateDir: `${b.dir}/${b.sw}`,
    interfaces: swIfs,
    routes: [],
    sysctls: b.base,
  };
}

/** The client, wired straight to the router. */
export function clientNamespace(b: LabNames): LabNamespace {
  const { t } = b;
  return {
    name: b.cl,
    role: "client",
    stateDir: `${b.dir}/${b.cl}`,
    interfaces: [{
      name: "eth0",
      addresses: [`${b.clientAddr}/${prefixLength(t.clientNet)}`],
      peer: { namespace: b.rt, name: "eth0" },
      kind: "veth",
    }],
    routes: [{ dst: "default", via: b.routerClientAddr }],
    sysctls: b.base,
  };
}

/** The router: the client on eth0, the segment on eth1, forwarding with a multipath hash. */
export function routerNamespace(
  b: LabNames,
): { namespace: LabNamespace; bird: LabBird; switchPorts: LabInterface[] } {
  const { t } = b;
  const bird = birdFiles(b, b.rt);
  const namespace: LabNamespace = {
    name: b.rt,
    role: "router",
    stateDir: `${b.dir}/${b.rt}`,
    interfaces: [
      {
        name: "eth0",
        addresses: [`${b.routerClientAddr}/${prefixLength(t.clientNet)}`],
        peer: { namespace: b.cl, name: "eth0" },
        kind: "veth",
      },
      {
        name: "eth1",
        addresses: [`${b.routerAddr}/${prefixLength(t.segment)}`],
        peer: { namespace: b.sw, name: "rtr" },
        kind: "veth",
      },
    ],
    routes: [],
    sysctls: [
      ...b.base,
      ["net.ipv4.ip_forward", "1"],
      ["net.ipv4.fib_multipath_hash_policy", "1"],
      ["net.ipv4.conf.all.send_redirects", "0"],
      ["net.ipv4.conf.default.send_redirects", "0"],
      ["net.ipv4.conf.eth0.send_redirects", "0"],
      ["net.ipv4.conf.eth1.send_redirects", "0"],
    ],
    bird,
  };
  return {
    namespace,
    bird,
    switchPorts: [switchPort("rtr", { namespace: b.rt, name: "eth1" }, "br0")],
  };
}

/** The router's OSPF: the only DR candidate on the segment, the client side a stub. */
export function routerRouting({ t, routerAddr }: LabNames, bird: LabBird): RouterRouting {
  return {
    name: "router",
    routerId: routerAddr,
    area: t.ospf.area,
    interfaces: [{
      name: "eth1",
      hello: t.ospf.hello,
      dead: t.ospf.dead,
      cost: t.ospf.cost,
      ...(t.ospf.routerWait !== undefined ? { wait: t.ospf.routerWait } : {}),
      ...(t.ospf.retransmit !== undefined ? { retransmit: t.ospf.retransmit } : {}),
      priority: 100,
      bfd: t.ospf.bfd !== undefined,
    }],
    stubInterfaces: ["eth0"],
    ...(t.ospf.bfd ? { bfd: t.ospf.bfd } : {}),
    logFile: bird.logFile,
  };
}

/** Load-balancer node `i` (1-based): its namespace, its LIPs, its routing, its switch ports. */
export function labNode(
  b: LabNames,
  i: number,
): { namespace: LabNamespace; node: LabNode; switchPorts: LabInterface[] } {
  const { t } = b;
  const name = `node${i}`, ns = `${t.prefix}${name}`;
  const address = host(t.segment, t.nodeHostBase + i, name);
  const lipBase = parseIpv4(t.lipBase)!;
  const lips = Array.from(
    { length: t.lipsPerNode },
    (_, k) => formatIpv4(lipBase + (i - 1) * t.lipsPerNode + k + 1),
  );
  const bird = birdFiles(b, ns);
  const ifs: LabInterface[] = [
    {
      name: "eth0",
      addresses: [`${address}/${prefixLength(t.segment)}`],
      peer: { namespace: b.sw, name: `n${i}` },
      kind: "veth",
    },
  ];
  const switchPorts = [switchPort(`n${i}`, { namespace: ns, name: "eth0" }, "br0")];
  let mgmtAddress: string | undefined;
  if (t.management) {
    mgmtAddress = host(t.management.subnet, t.management.nodeHostBase + i, `${name} management`);
    ifs.push({
      name: "mgmt0",
      addresses: [`${mgmtAddress}/24`],
      peer: { namespace: b.sw, name: `m${i}` },
      kind: "veth",
    });
    switchPorts.push(switchPort(`m${i}`, { namespace: ns, name: "mgmt0" }, "br1"));
  }
  const namespace: LabNamespace = {
    name: ns,
    role: "node",
    index: i,
    stateDir: `${b.dir}/${ns}`,
    interfaces: ifs,
    routes: [{ dst: "default", via: b.routerAddr }],
    sysctls: b.base,
    bird,
  };
  const node: LabNode = {
    name,
    namespace: ns,
    index: i,
    address,
    uplink: "eth0",
    lips,
    ...(mgmtAddress ? { mgmtAddress } : {}),
    bird,
    routing: nodeRouting(t, name, address, lips, bird),
  };
  return { namespace, node, switchPorts };
}

/** A node's OSPF, undrained: never the DR (priority 0), its VIPs and LIPs announced. */
function nodeRouting(
  t: LabTopology,
  name: string,
  address: string,
  lips: string[],
  bird: LabBird,
): NodeRouting {
  return {
    node: name,
    routerId: address,
    area: t.ospf.area,
    uplink: {
      name: "eth0",
      hello: t.ospf.hello,
      dead: t.ospf.dead,
      ...(t.ospf.retransmit !== undefined ? { retransmit: t.ospf.retransmit } : {}),
      cost: t.ospf.cost,
      priority: 0,
      bfd: t.ospf.bfd !== undefined,
    },
    vips: t.vips,
    lips,
    drained: false,
    ...(t.ospf.bfd ? { bfd: t.ospf.bfd } : {}),
    logFile: bird.logFile,
  };
}

/** Real server `i` (1-based) on the segment. */
export function labRealServer(b: LabNames, i: number): {
  namespace: LabNamespace;
  realServer: LabModel["realServers"][number];
  switchPorts: LabInterface[];
} {
  const { t } = b;
  const name = `rs${i}`, ns = `${t.prefix}${name}`;
  const address = host(t.segment, t.realServerHostBase + i, name);
  const namespace: LabNamespace = {
    name: ns,
    role: "realserver",
    index: i,
    stateDir: `${b.dir}/${ns}`,
    interfaces: [{
      name: "eth0",
      addresses: [`${address}/${prefixLength(t.segment)}`],
      peer: { namespace: b.sw, name: `rs${i}` },
      kind: "veth",
    }],
    routes: [{ dst: "default", via: b.routerAddr }],
    sysctls: b.base,
  };
  return {
    namespace,
    realServer: { name, namespace: ns, index: i, address },
    switchPorts: [switchPort(`rs${i}`, { namespace: ns, name: "eth0" }, "br0")],
  };
}

/** The management network's side in the root namespace (where lvsctl and sshd's clients run). */
export function managementHostSide(
  b: LabNames,
  m: NonNullable<LabTopology["management"]>,
): { model: NonNullable<LabModel["management"]>; switchPort: LabInterface } {
  const model = {
    hostInterface: `${b.t.prefix}mgmt`,
    hostAddress: host(m.subnet, m.hostHost, "the management host side"),
    subnet: m.subnet,
  };
  return {
    model,
    switchPort: switchPort("host", { namespace: "", name: model.hostInterface }, "br1"),
  };
}
