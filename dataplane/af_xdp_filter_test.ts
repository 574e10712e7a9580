/**
 * The data plane on `net_af_xdp` with its XDP filter (`xdp_prog=build/fnat_xdp.o`): the VIP's
 * traffic reaches the data plane, while ping and TCP to the node's own address on the same port
 * stay with the kernel (see `link_testbed.ts`). Root only; needs `make -C dataplane`.
 */
import { linkTest } from "./testing/link_testbed.ts";

linkTest("net_af_xdp", "fxf", { xdpFilter: true });
