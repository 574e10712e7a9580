/**
 * lvs-cluster: an OSPF/ECMP-scaled DPDK FULLNAT load-balancer cluster, orchestrated from Deno.
 *
 * Public API: re-exports only.
 *
 * @module
 */
export { cStringArray, DataPlaneError, openLibrary, symbols } from "./dataplane/ffi.ts";
