import assert from "node:assert/strict";
import { renderNodeConfig, renderRouterConfig } from "./render.ts";
import { MAX_ROUTER_LSA_STUBS } from "./model.ts";
import type { NodeRouting, RouterRouting } from "./model.ts";

const GOLDEN = new URL("../fixtures/bird/golden/", import.meta.url).pathname;
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

const node: NodeRouting = {
  node: "node1",
  routerId: "10.77.0.11",
  area: 0,
  uplink: { name: "eth0", hello: 1, dead: 4, retransmit: 2, cost: 10, priority: 0, bfd: true },
  vips: ["10.77.100.1", "10.77.100.2/32"],
  lips: ["10.77.200.1", "10.77.200.2"],
  drained: false,
  bfd: { intervalMs: 100, multiplier: 3 },
  logFile: "/run/lvs-lab/lvl-/lvl-node1/bird.log",
};

const router: RouterRouting = {
  name: "router",
  routerId: "10.77.0.1",
  area: 0,
  interfaces: [{
    name: "eth1",
    hello: 1,
    dead: 4,
    wait: 2,
    retransmit: 2,
    cost: 10,
    priority: 100,
    bfd: true,
  }],
  stubInterfaces: ["eth0"],
  bfd: { intervalMs: 100, multiplier: 3 },
  logFile: "/run/lvs-lab/lvl-/lvl-router/bird.log",
};

const cases: Array<[string, () => string]> = [
  ["node.conf", () => renderNodeConfig(node)],
  ["node_drained.conf", () => renderNodeConfig({ ...node, drained: true })],
  [
    "node_standby.conf",
    () => renderNodeConfig({ ...node, standbyLips: ["10.77.200.3", "10.77.200.4"] }),
  ],
  [
    "node_production.conf",
    () =>
      renderNodeConfig({
        node: "lb-fra-07",
        routerId: "192.0.2.7",
        area: 51,
        uplink: { name: "ens1f0", hello: 10, dead: 40, cost: 100, bfd: false },
        vips: ["203.0.113.10"],
        lips: ["198.51.100.64", "198.51.100.65"],
        vipCost: 100,
        lipCost: 50,
        drained: false,
      }),
  ],
  ["router.conf", () => renderRouterConfig(router)],
  [
    "router_no_bfd.conf",
    () =>
      renderRouterConfig({
        ...router,
        interfaces: [{ name: "eth1", hello: 1, dead: 4, cost: 10, bfd: false }],
        bfd: undefined as never,
        ecmpLimit: 8,
      }),
  ],
];

async function birdParse(text: string): Promise<{ ok: boolean; out: string }> {
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, text);
    const r = await new Deno.Command("bird", {
      args: ["-p", "-c", file],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } finally {
    await Deno.remove(file);
  }
}

for (const [name, render] of cases) {
  Deno.test(`render ${name} matches the golden file and BIRD accepts it (bird -p)`, async () => {
    const text = render();
    if (UPDATE) await Deno.writeTextFile(GOLDEN + name, text);
    assert.equal(text, await Deno.readTextFile(GOLDEN + name));
    const r = await birdParse(text);
    assert.ok(r.ok, `bird -p rejected ${name}: ${r.out}`);
  });
}

Deno.test("renderNodeConfig() withdraws VIPs but keeps LIPs when drained", () => {
  const text = renderNodeConfig({ ...node, drained: true });
  assert.ok(!text.includes("10.77.100.1/32"));
  assert.ok(!text.includes("blackhole"));
  assert.ok(text.includes("stubnet 10.77.200.1/32 { cost 10; }; # LIP"));
  assert.ok(text.includes("stubnet 10.77.200.2/32"));
});

Deno.test("renderNodeConfig() rejects invalid input listing every problem", () => {
  assert.throws(
    () =>
      renderNodeConfig({
        ...node,
        routerId: "10.0.0.300",
        uplink: { name: "an-interface-name-too-long", hello: 5, dead: 5, cost: 0, bfd: true },
        vips: ["10.0.0.1/24", "10.77.200.1"],
        bfd: undefined as never,
      }),
    (e: unknown) => {
      assert.ok(e instanceof RangeError);
      for (
        const part of [
          'router id "10.0.0.300" is not an IPv4 address',
          "interface name",
          "dead 5 must be 2-65535 s and greater than hello 5",
          "cost 0 must be 1-65535",
          "bfd is on but no bfd timing is given",
          'VIP "10.0.0.1/24" is not an IPv4 host address',
          "10.77.200.1/32 is both a VIP and a LIP",
        ]
      ) assert.ok(e.message.includes(part), `missing "${part}" in:\n${e.message}`);
      assert.ok(e.message.startsWith('Cannot render BIRD config for node "node1"'));
      return true;
    },
  );
});

Deno.test("renderNodeConfig() rejects a duplicate VIP and a relative log path", () => {
  assert.throws(
    () =>
      renderNodeConfig({ ...node, vips: ["10.77.100.1", "10.77.100.1/32"], logFile: "bird.log" }),
    /log file "bird.log" must be an absolute path[\s\S]*VIP 10\.77\.100\.1\/32 is listed twice/,
  );
});

Deno.test("renderNodeConfig() announces VIPs as externals, any number of them", () => {
  const vips = Array.from(
    { length: 10_000 },
    (_, i) => `10.${80 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
  );
  const text = renderNodeConfig({ ...node, vips });
  assert.equal(text.match(/^  route \S+ blackhole; # VIP$/gm)?.length, 10_000);
  assert.ok(!/stubnet 10\.80\./.test(text), "no VIP in the router-LSA");
  assert.match(text, /if proto = "lvs_vips" then \{ ospf_metric1 = 10; accept; \} reject;/);
});

Deno.test("renderNodeConfig() refuses more LIPs than one router-LSA carries", () => {
  const lipsFor = (n: number) =>
    Array.from({ length: n }, (_, i) => `10.${90 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  assert.ok(renderNodeConfig({ ...node, lips: lipsFor(MAX_ROUTER_LSA_STUBS) }).includes("stubnet"));
  assert.throws(
    () => renderNodeConfig({ ...node, lips: lipsFor(MAX_ROUTER_LSA_STUBS + 1) }),
    new RegExp(`announces ${MAX_ROUTER_LSA_STUBS + 1} LIPs .* at most ${MAX_ROUTER_LSA_STUBS}`),
  );
});

Deno.test("renderRouterConfig() rejects a router without OSPF interfaces or with duplicates", () => {
  assert.throws(
    () => renderRouterConfig({ ...router, interfaces: [] }),
    /needs at least one OSPF interface/,
  );
  assert.throws(
    () => renderRouterConfig({ ...router, stubInterfaces: ["eth1"] }),
    /interface eth1 is listed twice/,
  );
  assert.throws(
    () => renderRouterConfig({ ...router, interfaces: [{ ...router.interfaces[0]!, wait: 0 }] }),
    /wait 0 must be 2-65535 s/,
  );
  assert.throws(
    () => renderNodeConfig({ ...node, uplink: { ...node.uplink, retransmit: 1 } }),
    /retransmit 1 must be 2-65535 s/,
  );
});

Deno.test("renderRouterConfig() enables ECMP, merge external and kernel merge paths", () => {
  const text = renderRouterConfig(router);
  assert.match(text, /ecmp yes limit 16;/);
  assert.match(text, /merge external yes;/);
  assert.match(text, /merge paths yes limit 16;/);
  assert.match(text, /bfd yes;/);
});

Deno.test("renderNodeConfig() announces standby LIPs above the owner's cost, also when drained", () => {
  const text = renderNodeConfig({ ...node, drained: true, standbyLips: ["10.77.200.3"] });
  assert.match(text, /stubnet 10\.77\.200\.3\/32 \{ cost 1010; \}; # standby/);
  assert.match(text, /stubnet 10\.77\.200\.1\/32 \{ cost 10; \}; # LIP/);
  assert.throws(
    () => renderNodeConfig({ ...node, standbyLips: ["10.77.200.1"], standbyCost: 5 }),
    /standby LIP 10\.77\.200\.1\/32 is also one of its own[\s\S]*standby cost 5 must be above/,
  );
});
