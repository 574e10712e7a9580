/** The data plane on `net_af_packet` over a veth (see `link_testbed.ts`). Root only. */
import { linkTest } from "./testing/link_testbed.ts";

linkTest("net_af_packet", "fxa");
