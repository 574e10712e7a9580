/**
 * The data plane on `net_af_xdp` over a veth (generic XDP; see `link_testbed.ts`). Root only.
 */
import { linkTest } from "./testing/link_testbed.ts";

linkTest("net_af_xdp", "fxx");
