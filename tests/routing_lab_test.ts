/**
 * Integration: the routing fabric of the lab in real network namespaces with real BIRD.
 * Needs root; each run uses its own namespace prefix (lheXXXX-) and state directory.
 */
import assert from "node:assert/strict";
import {
  birdNextHops,
  killBird,
  labDown,
  labStatus,
  labUp,
  loadLabModel,
  type NextHop,
  setNodeDrained,
  startBird,
  waitForNextHops,
} from "../cluster/lab/network.ts";
import { HostCommandError, listNamespaces, processAlive, RealHost } from "../cluster/lab/netns.ts";
import { pollUntil } from "../routing/poll.ts";
import type { LabModel } from "../cluster/lab/topology.ts";
import { withBird } from "../routing/bird/bird_client.ts";
import { BirdError } from "../routing/bird_reply.ts";
import { BirdRouting } from "../routing/bird/bird_routing.ts";
import { announcedOf, parseBfdSessions, parseOspfState } from "../routing/parse_show.ts";
import { safeReconfigure } from "../routing/bird/reconfigure.ts";
import { renderNodeConfig } from "../routing/render.ts";
import type { RoutingPort } from "../dataplane/agent/agent.ts";
import { freshTestLab } from "./_test_lab.ts";

const IS_ROOT = Deno.uid() === 0;
const HELLO = 1, DEAD = 4;
/** After the dead interval: the router's SPF runs on its next 1 s tick, then the kernel sync; the
 * machine is shared and noisy, so allow a few seconds beyond that (no timing assertion intended). */
const SPF_SLACK_MS = 5000;

/** Every run's state lives under here, one directory per lab prefix with the owner's pid. */

const gateways = (hops: NextHop[]) => hops.map((h) => h.gateway).sort();

/** The router's BFD session states by neighbour address. */
async function routerBfd(model: LabModel): Promise<Record<string, string>> {
  const reply = await withBird(model.router.bird.socket, (b) => b.command("show bfd sessions"));
  return Object.fromEntries(parseBfdSessions(reply).map((s) => [s.address, s.state]));
}

async function birdPids(model: LabModel): Promise<number[]> {
  const files = [model.router.bird.pidFile, ...model.nodes.map((n) => n.bird.pidFile)];
  const pids: number[] = [];
  for (const f of files) {
    const t = await Deno.readTextFile(f).catch(() => "");
    if (t.trim()) pids.push(Number(t.trim()));
  }
  return pids;
}

async function assertNothingLeft(prefix: string, stateRoot: string, pids: number[]): Promise<void> {
  assert.deepEqual(await listNamespaces(new RealHost(), prefix), [], "namespaces left behind");
  assert.deepEqual(pids.filter(processAlive), [], "processes left behind");
  await assert.rejects(
    Deno.stat(`${stateRoot}/${prefix}`),
    Deno.errors.NotFound,
    "state directory left behind",
  );
}

/** Waits for `count` next hops (BIRD and kernel) and returns them with the time it took. */
async function expectHops(model: LabModel, count: number, timeoutMs: number, what: string) {
  const t0 = performance.now();
  const hops = await waitForNextHops(model, model.vips[0]!, count, timeoutMs);
  const ms = performance.now() - t0;
  assert.ok(
    hops,
    `${what}: router did not reach ${count} next hops within ${timeoutMs} ms (has ${
      (await birdNextHops(model, model.vips[0]!).catch(() => [])).length
    })`,
  );
  return { ...hops, ms };
}

Deno.test({
  name: "lab routing: ECMP next hops follow drain, undrain, a rejected config and dead nodes",
  ignore: !IS_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const { prefix, stateRoot } = await freshTestLab("lhe");
  const model = await loadLabModel({
    prefix,
    stateDir: stateRoot,
    nodes: 3,
    realServers: 1,
    management: false,
    hello: HELLO,
    dead: DEAD,
  });
  const vip = model.vips[0]!;
  const addr = model.nodes.map((n) => n.address);
  let pids: number[] = [];
  try {
    await labUp(model);
    pids = await birdPids(model);
    assert.equal(pids.length, 4);

    await t.step(
      "3 nodes announcing one VIP give the router exactly 3 next hops (BIRD and kernel)",
      async () => {
        const h = await expectHops(model, 3, 60_000, "initial convergence");
        assert.deepEqual(gateways(h.bird), addr);
        assert.deepEqual(gateways(h.kernel), addr);
        const n1 = model.nodes[0]!;
        const port: RoutingPort = new BirdRouting({
          base: n1.routing,
          configPath: n1.bird.config,
          socket: n1.bird.socket,
        });
        const st = await port.status();
        assert.equal(st.adjacency, "Full");
        assert.equal(st.neighbor, model.router.address);
        assert.deepEqual(st.advertised.sort(), [`${vip}/32`, `${n1.lips[0]}/32`].sort());
      },
    );

    await t.step("drain one node: 2 next hops, its LIP stays routed", async () => {
      await setNodeDrained(model, "node2", true);
      const h = await expectHops(model, 2, 15_000, "drain");
      assert.deepEqual(gateways(h.kernel), [addr[0]!, addr[2]!]);
      console.log(`  drain -> 2 next hops in ${h.ms.toFixed(0)} ms`);
      const lip = await birdNextHops(model, model.nodes[1]!.lips[0]!);
      assert.deepEqual(gateways(lip), [addr[1]!]);
      // `lab status` reads the same from BIRD and the kernel.
      const st = await labStatus(model);
      assert.ok(st.up, JSON.stringify(st.router));
      assert.deepEqual(st.nodes.map((n) => n.drained), [false, true, false]);
      assert.deepEqual(st.nodes[1]!.announced, [`${model.nodes[1]!.lips[0]}/32`]);
      assert.deepEqual(gateways(st.router.kernelNextHops[vip]!), [addr[0]!, addr[2]!]);
      assert.deepEqual(gateways(st.router.nextHops[vip]!), [addr[0]!, addr[2]!]);
      assert.equal(st.router.neighbors.filter((n) => n.state === "Full").length, 3);
    });

    await t.step("undrain: 3 next hops again", async () => {
      await setNodeDrained(model, "node2", false);
      const h = await expectHops(model, 3, 15_000, "undrain");
      assert.deepEqual(gateways(h.kernel), addr);
      console.log(`  undrain -> 3 next hops in ${h.ms.toFixed(0)} ms`);
    });

    await t.step(
      "a configuration BIRD rejects keeps the previous one and raises BirdError",
      async () => {
        const n1 = model.nodes[0]!;
        const before = await Deno.readTextFile(n1.bird.config);
        const broken = renderNodeConfig({ ...n1.routing, drained: true }) +
          "protocol ospf v2 lvs2 { area 0 { bogus; }; }\n";
        await assert.rejects(
          withBird(
            n1.bird.socket,
            (b) => safeReconfigure(b, { configPath: n1.bird.config, text: broken }),
          ),
          (e: unknown) => {
            assert.ok(e instanceof BirdError, String(e));
            assert.equal(e.code, 8002);
            assert.match(e.message, /bird\.conf\.new:\d+:\d+ syntax error/);
            assert.match(e.response, /syntax error/);
            return true;
          },
        );
        assert.equal(await Deno.readTextFile(n1.bird.config), before);
        await assert.rejects(Deno.stat(`${n1.bird.config}.new`), Deno.errors.NotFound);
        const own = await withBird(n1.bird.socket, (b) => b.command("show ospf state lvs"));
        assert.ok(
          announcedOf(parseOspfState(own), n1.address).includes(`${vip}/32`),
          "node1 still announces the VIP",
        );
        await expectHops(model, 3, 5_000, "after the rejected config");
      },
    );

    await t.step("a configuration that fails verification is undone by BIRD", async () => {
      const n1 = model.nodes[0]!;
      const before = await Deno.readTextFile(n1.bird.config);
      await assert.rejects(
        withBird(n1.bird.socket, (b) =>
          safeReconfigure(b, {
            configPath: n1.bird.config,
            text: renderNodeConfig({ ...n1.routing, drained: true }),
            verify: () => Promise.reject(new Error("health gate says no")),
          })),
        (e: unknown) =>
          e instanceof BirdError && /rolled back: health gate says no/.test(e.message),
      );
      assert.equal(await Deno.readTextFile(n1.bird.config), before);
      const own = await withBird(n1.bird.socket, (b) => b.command("show ospf state lvs"));
      assert.ok(
        announcedOf(parseOspfState(own), n1.address).includes(`${vip}/32`),
        "node1 announces the VIP again after the undo",
      );
      // The undone config announces the VIP again (after OSPF's MinLSInterval of 5 s at most).
      await expectHops(model, 3, 15_000, "after undo");
    });

    await t.step(
      `a node's BIRD crashing (BFD on): 2 next hops within the dead interval (${DEAD} s)`,
      async () => {
        const up = await pollUntil(async () => {
          const s = await routerBfd(model);
          return addr.every((a) => s[a] === "Up") ? s : null;
        }, 10_000);
        assert.ok(
          up,
          `router's BFD sessions not all Up: ${JSON.stringify(await routerBfd(model))}`,
        );
        const t0 = performance.now();
        await killBird(model.nodes[2]!.bird);
        const h = await expectHops(model, 2, DEAD * 1000 + SPF_SLACK_MS, "crash with BFD");
        assert.deepEqual(gateways(h.kernel), [addr[0]!, addr[1]!]);
        console.log(
          `  BIRD killed (BFD 100 ms x 3) -> 2 next hops in ${
            (performance.now() - t0).toFixed(0)
          } ms`,
        );
      },
    );

    await t.step(
      `a node's BIRD crashing (no BFD): 2 next hops within the dead interval (${DEAD} s)`,
      async () => {
        // Restart node3 without BFD: the router's BFD session to it never comes up, so only the
        // OSPF dead interval can notice the crash.
        const n3 = model.nodes[2]!;
        const noBfd = { ...n3.routing, uplink: { ...n3.routing.uplink, bfd: false } };
        delete noBfd.bfd;
        await Deno.writeTextFile(n3.bird.config, renderNodeConfig(noBfd));
        await startBird(new RealHost(), n3.namespace, n3.bird);
        await expectHops(model, 3, 30_000, "node3 restarted without BFD");
        assert.notEqual((await routerBfd(model))[n3.address], "Up", "node3 runs no BFD now");
        // The router (DR) originated a new network LSA when node3 came back; it may not
        // originate the next one within MinLSInterval (5 s), which would add to the figure.
        await new Promise((r) => setTimeout(r, 5500));
        const t0 = performance.now();
        await killBird(n3.bird);
        const h = await expectHops(model, 2, DEAD * 1000 + SPF_SLACK_MS, "crash without BFD");
        assert.deepEqual(gateways(h.kernel), [addr[0]!, addr[1]!]);
        console.log(
          `  BIRD killed (no BFD, hello ${HELLO} s, dead ${DEAD} s) -> 2 next hops in ${
            (performance.now() - t0).toFixed(0)
          } ms`,
        );
      },
    );
  } finally {
    pids = [...pids, ...(await birdPids(model).catch(() => []))];
    await labDown(prefix, stateRoot);
    await assertNothingLeft(prefix, stateRoot, pids);
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  }
});

/** A host that fails the nth command, as if the machine gave up half-way through `lab up`. */
class FailingHost extends RealHost {
  count = 0;
  constructor(readonly failAt: number) {
    super();
  }
  override run(argv: string[]) {
    if (++this.count === this.failAt) {
      return Promise.resolve({ code: 2, stdout: "", stderr: "injected failure" });
    }
    return super.run(argv);
  }
}

Deno.test({
  name: "lab teardown: a lab up that fails half-way leaves nothing behind",
  ignore: !IS_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { prefix, stateRoot } = await freshTestLab("lhe");
  try {
    const model = await loadLabModel({
      prefix,
      stateDir: stateRoot,
      nodes: 2,
      realServers: 1,
      management: false,
    });
    // Fail after the namespaces and some links exist (labDown's own commands come first).
    const host = new FailingHost(30);
    await assert.rejects(
      labUp(model, { host }),
      (e: unknown) => e instanceof HostCommandError && /injected failure/.test(e.message),
    );
    await assertNothingLeft(prefix, stateRoot, []);
  } finally {
    await labDown(prefix, stateRoot);
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "lab teardown: after a crashed test, labDown kills BIRD, strays and respawning supervisors, removes namespaces and files, idempotently",
  ignore: !IS_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const { prefix, stateRoot } = await freshTestLab("lhe");
  try {
    const model = await loadLabModel({
      prefix,
      stateDir: stateRoot,
      nodes: 1,
      realServers: 1,
      management: false,
    });
    await labUp(model);
    // A stray process inside a namespace, as a half-finished test would leave it.
    const stray = new Deno.Command("ip", {
      args: ["netns", "exec", model.nodes[0]!.namespace, "sleep", "600"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // A supervisor that ignores SIGTERM and respawns its child whenever it dies (detached, as
    // the lab's agents are): teardown must keep listing the namespace and end with SIGKILL.
    const supervisor = `${model.realServers[0]!.namespace}`;
    await Deno.writeTextFile(
      `${model.stateDir}/respawn.sh`,
      'trap "" TERM\nwhile :; do sleep 600; done\n',
    );
    const spawned = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        supervisor,
        "sh",
        "-c",
        `setsid sh ${model.stateDir}/respawn.sh </dev/null >/dev/null 2>&1 & echo $!`,
      ],
      stdin: "null",
      stdout: "piped",
    }).output();
    const respawner = Number(new TextDecoder().decode(spawned.stdout).trim());
    assert.ok(respawner > 1, "respawning supervisor started");
    const pids = [...await birdPids(model), stray.pid, respawner];
    assert.ok(pids.every(processAlive));
    // Both veths of the real server and the node's uplink compute TX checksums in software.
    for (const ns of [model.nodes[0]!.namespace, model.router.namespace, supervisor]) {
      const k = await new RealHost().run(["ip", "netns", "exec", ns, "ethtool", "-k", "eth0"]);
      assert.match(k.stdout, /^tx-checksumming: off/m, `${ns} eth0`);
    }
    // The caller "crashed": teardown starts from the prefix alone, twice.
    const first = await labDown(prefix, stateRoot);
    assert.equal(first.namespaces.length, model.namespaces.length);
    assert.ok(first.killed.includes(stray.pid));
    await stray.status;
    assert.ok(first.killed.includes(respawner));
    await assertNothingLeft(prefix, stateRoot, pids);
    assert.deepEqual(await labDown(prefix, stateRoot), {
      namespaces: [],
      killed: [],
      removedDir: false,
    });
  } finally {
    await labDown(prefix, stateRoot);
    await Deno.remove(stateRoot, { recursive: true }).catch(() => {});
  }
});
