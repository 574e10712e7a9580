import assert from "node:assert/strict";
import { FleetHistory } from "./history.ts";
import { MemoryFleet } from "./memory_fleet.ts";
import { renderRegions } from "./render.ts";

const NOW = 1_790_000_000_000;

async function regions(mutate: (f: MemoryFleet) => void = () => {}) {
  const fleet = new MemoryFleet({ clock: () => NOW });
  mutate(fleet);
  const history = new FleetHistory({ clock: () => NOW });
  const snapshot = await fleet.read();
  return renderRegions({ snapshot, error: null, history, now: NOW, csrf: 'tok"en', audit: [] });
}

Deno.test("renderRegions() escapes text from the fleet (no markup injection)", async () => {
  const r = await regions((f) => f.setUnreachable("node2", `<script>alert("x")</script>`));
  assert.ok(!r.nodes.includes("<script>"));
  assert.ok(r.nodes.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
  assert.ok(!r.banner.includes("<script>"));
  assert.ok(r.nodes.includes('value="tok&quot;en"'), "attribute values are escaped too");
});

Deno.test("renderRegions() offers drain on active nodes, undrain on drained ones, nothing on unreachable", async () => {
  const r = await regions((f) => {
    void f.drain("node1", "t");
    f.setUnreachable("node3", "down");
  });
  const row = (n: string) => new RegExp(`<tr data-node="${n}"[\\s\\S]*?</tr>`).exec(r.nodes)![0];
  assert.match(row("node1"), /action="\/api\/nodes\/node1\/undrain"/);
  assert.match(row("node2"), /action="\/api\/nodes\/node2\/drain"/);
  assert.doesNotMatch(row("node3"), /<form/);
  assert.match(row("node1"), /VIPs withdrawn/);
  assert.match(row("node1"), /data-confirm="Undrain node1\? /);
});

Deno.test("renderRegions() shows real-server health per node and a down real as such", async () => {
  const r = await regions((f) => {
    const vip = f.vips[0]!;
    f.vips[0] = {
      ...vip,
      reals: vip.reals.map((real, i) =>
        i !== 1 ? real : {
          ...real,
          health: real.health.map((h) =>
            h.node === "node2" ? { ...h, up: false, weight: 0, detail: "HTTP 503" } : h
          ),
        }
      ),
    };
  });
  const row = /<tr data-real="10.99.1.22:8080">[\s\S]*?<\/tr>/.exec(r.vips)![0];
  assert.match(row, /<span class="pill warnp">2\/3 up<\/span>/);
  assert.match(row, /<span class="chip bad" title="HTTP 503">node2 · w0 · HTTP 503<\/span>/);
  assert.match(r.summary, /3 \/ 4/);
});

Deno.test("renderRegions() shows sync per node and, for a drained node, the frames still forwarded to it", async () => {
  const clock = { now: NOW };
  const fleet = new MemoryFleet({ clock: () => clock.now, drainMs: 60_000 });
  await fleet.drain("node2", "t");
  clock.now += 1000;
  await fleet.read();
  clock.now += 1000;
  const snapshot = await fleet.read();
  const history = new FleetHistory({ clock: () => clock.now });
  const r = renderRegions({ snapshot, error: null, history, now: clock.now, csrf: "t", audit: [] });
  const row = (n: string) => new RegExp(`<tr data-node="${n}"[\\s\\S]*?</tr>`).exec(r.nodes)![0];
  assert.match(r.nodes, /<th>Sync<\/th>/);
  assert.match(row("node1"), /<td data-field="sync"><span title="[^"]*">\d+ records<\/span>/);
  assert.match(row("node1"), /fwd \d+\/s out · \d+\/s in/);
  assert.doesNotMatch(row("node1"), /data-field="forwarded-to"/, "only drained nodes say it");
  const live = snapshot.nodes[1]!.stats!.sessions;
  assert.ok(live > 0);
  assert.match(
    row("node2"),
    new RegExp(
      `data-field="forwarded-to"><span>${live} live sessions</span><span>\\d+ frames/s still forwarded to it</span>`,
    ),
  );
  const off = await regions((f) => f.setUnreachable("node3", "down"));
  assert.match(
    off.nodes,
    /<tr data-node="node3"[\s\S]*?<td data-field="sync"><span class="muted">—/,
  );
});

Deno.test("renderRegions() says when a drained node gets no frames any more, and when sync is off", async () => {
  const base = await new MemoryFleet({ clock: () => NOW }).read();
  const [n1, n2] = base.nodes;
  const drained = {
    ...n2!,
    state: "drained" as const,
    stats: { ...n2!.stats!, sessions: 1 },
    sync: { ...n2!.sync!, forwardedInPerSecond: 0, synced: false, unanswered: ["node3"] },
  };
  const snapshot = { ...base, nodes: [{ ...n1!, sync: null }, drained] };
  const history = new FleetHistory({ clock: () => NOW });
  const r = renderRegions({ snapshot, error: null, history, now: NOW, csrf: "t", audit: [] });
  assert.match(r.nodes, /<span>1 live session<\/span><span>no frames forwarded to it<\/span>/);
  assert.match(r.nodes, /waiting for peers' sessions/);
  assert.match(r.nodes, /joined without node3's sessions/);
  assert.match(r.nodes, /<td data-field="sync"><span class="muted">off<\/span>/);
});

Deno.test("renderRegions() shows who holds the rollout lease, escaped", async () => {
  const fleet = new MemoryFleet({ clock: () => NOW });
  const snapshot = {
    ...(await fleet.read()),
    lease: { holder: `lvsctl <b>x</b>`, nodes: ["node1", "node2"], expiresInMs: 41_600 },
  };
  const history = new FleetHistory({ clock: () => NOW });
  const r = renderRegions({ snapshot, error: null, history, now: NOW, csrf: "t", audit: [] });
  assert.match(
    r.rollouts,
    /Rollout lease<\/strong> held by <span class="mono">lvsctl &lt;b&gt;x&lt;\/b&gt;<\/span> on node1, node2 for 42 s more/,
  );
  assert.doesNotMatch((await regions()).rollouts, /Rollout lease/);
});
