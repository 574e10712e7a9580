/**
 * Where things attach in a lab (pure, from the model): per namespace the interface names,
 * addresses and gateways the layers above the routing fabric need (sshd on a node's management
 * address, the data plane on a node's uplink, real servers, the client), and the lab's paths.
 * Re-exported by `cluster/lab/network.ts`.
 *
 * @module
 */
import type { LabBird, LabModel, LabNamespace, LabNode } from "./topology.ts";
import { parseIpv4, prefixesOverlap } from "../../routing/ipv4.ts";

/** One interface of a namespace with its first address split up. */
export interface LabAddress {
  /** Interface name inside the namespace ("eth0"). */
  interface: string;
  /** Address without prefix length ("10.77.0.11"). */
  address: string;
  /** Address with prefix length ("10.77.0.11/24"). */
  cidr: string;
  prefixLength: number;
}

/** Where a load-balancer node's services attach. */
export interface LabNodeEndpoints {
  name: string;
  namespace: string;
  /** The node's own directory under the lab's state directory. */
  stateDir: string;
  /** The uplink to the shared segment: the data plane's port, OSPF's interface. */
  uplink: LabAddress & { gateway: string };
  /** The management interface (sshd listens here); absent in a lab built without it. */
  management?: LabAddress & { hostAddress: string };
  bird: LabBird;
}

/** Where the upstream router attaches. */
export interface LabRouterEndpoints {
  namespace: string;
  stateDir: string;
  /** Towards the client. */
  clientSide: LabAddress;
  /** On the shared segment with the nodes and real servers. */
  segmentSide: LabAddress;
  bird: LabBird;
}

/** Where the client or a real server attaches (one interface, default route via `gateway`). */
export interface LabHostEndpoints {
  name: string;
  namespace: string;
  stateDir: string;
  link: LabAddress & { gateway: string };
}

/** The lab's state directory for a prefix under a state root (`<stateRoot>/<prefix>`). */
export function labStateDir(prefix: string, stateRoot: string): string {
  return `${stateRoot.replace(/\/+$/, "")}/${prefix}`;
}

/** The argv that runs `argv` inside network namespace `ns` (`ip netns exec`). */
export function inNamespace(ns: string, argv: string[]): string[] {
  if (argv.length === 0) throw new TypeError(`Cannot run an empty command in ${ns}`);
  return ["ip", "netns", "exec", ns, ...argv];
}

function namespace(model: LabModel, name: string): LabNamespace {
  const ns = model.namespaces.find((n) => n.name === name);
  if (!ns) throw new RangeError(`Lab ${model.prefix} has no namespace ${name}`);
  return ns;
}

function address(ns: LabNamespace, ifName: string): LabAddress {
  const i = ns.interfaces.find((x) => x.name === ifName);
  const cidr = i?.addresses[0];
  if (!cidr) throw new RangeError(`Lab namespace ${ns.name} has no address on ${ifName}`);
  const [addr, len] = cidr.split("/");
  return { interface: ifName, address: addr!, cidr, prefixLength: Number(len) };
}

function gatewayOf(ns: LabNamespace): string {
  const r = ns.routes.find((x) => x.dst === "default");
  if (!r) throw new RangeError(`Lab namespace ${ns.name} has no default route`);
  return r.via;
}

/** A node by name ("node2") or namespace, or a `RangeError` naming the nodes there are. */
export function findLabNode(model: LabModel, node: string): LabNode {
  const n = model.nodes.find((x) => x.name === node || x.namespace === node);
  if (!n) {
    throw new RangeError(
      `Lab ${model.prefix} has no node ${node} (have ${model.nodes.map((x) => x.name).join(", ")})`,
    );
  }
  return n;
}

/** Where a node's services attach. */
export function labNodeEndpoints(model: LabModel, node: string | LabNode): LabNodeEndpoints {
  const n = typeof node === "string" ? findLabNode(model, node) : node;
  const ns = namespace(model, n.namespace);
  const mgmt = ns.interfaces.find((i) => i.name === "mgmt0");
  return {
    name: n.name,
    namespace: n.namespace,
    stateDir: ns.stateDir,
    uplink: { ...address(ns, n.uplink), gateway: gatewayOf(ns) },
    ...(mgmt && model.management
      ? {
        management: { ...address(ns, mgmt.name), hostAddress: model.management.hostAddress },
      }
      : {}),
    bird: n.bird,
  };
}

/** Where the router attaches. */
export function labRouterEndpoints(model: LabModel): LabRouterEndpoints {
  const ns = namespace(model, model.router.namespace);
  const seg = ns.interfaces.find((i) => i.addresses[0]?.startsWith(`${model.router.address}/`));
  const cl = ns.interfaces.find((i) =>
    i.addresses[0]?.startsWith(`${model.router.clientAddress}/`)
  );
  if (!seg || !cl) throw new RangeError(`Lab router ${ns.name} lacks its segment or client side`);
  return {
    namespace: ns.name,
    stateDir: ns.stateDir,
    clientSide: address(ns, cl.name),
    segmentSide: address(ns, seg.name),
    bird: model.router.bird,
  };
}

function hostEndpoints(model: LabModel, name: string, nsName: string): LabHostEndpoints {
  const ns = namespace(model, nsName);
  const link = ns.interfaces.find((i) => i.kind === "veth" && i.addresses.length > 0);
  if (!link) throw new RangeError(`Lab namespace ${nsName} has no addressed interface`);
  return {
    name,
    namespace: nsName,
    stateDir: ns.stateDir,
    link: { ...address(ns, link.name), gateway: gatewayOf(ns) },
  };
}

/** Where the client attaches. */
export function labClientEndpoints(model: LabModel): LabHostEndpoints {
  return hostEndpoints(model, "client", model.client.namespace);
}

/** Where each real server attaches, in order. */
export function labRealServerEndpoints(model: LabModel): LabHostEndpoints[] {
  return model.realServers.map((r) => hostEndpoints(model, r.name, r.namespace));
}

/** An IPv4 address configured in the root namespace (`ip -j -4 addr show`). */
export interface RootAddress {
  ifname: string;
  local: string;
  prefixlen: number;
}

function overlaps(a: string, alen: number, b: string, blen: number): boolean {
  const pa = parseIpv4(a), pb = parseIpv4(b);
  if (pa === null || pb === null) return false;
  return prefixesOverlap({ address: pa, length: alen }, { address: pb, length: blen });
}

/**
 * Why the lab's management network cannot be added to the root namespace (another interface,
 * e.g. another lab's, already has an address in its subnet), or null when it can (pure).
 */
export function managementConflict(model: LabModel, root: RootAddress[]): string | null {
  const m = model.management;
  if (!m) return null;
  const [net, len] = m.subnet.split("/");
  const other = root.find((r) =>
    r.ifname !== m.hostInterface && overlaps(r.local, r.prefixlen, net!, Number(len))
  );
  if (!other) return null;
  return `Cannot build lab ${model.prefix}: its management subnet ${m.subnet} overlaps ` +
    `${other.local}/${other.prefixlen} on ${other.ifname} in the root namespace (another lab ` +
    `up?); take that lab down or run without the management network (--no-management)`;
}
