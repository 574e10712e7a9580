import assert from "node:assert/strict";
import type { FleetSnapshot } from "./fleet.ts";
import { MemoryFleet } from "./memory_fleet.ts";
import { escapeLabelValue, renderMetrics } from "./metrics.ts";
import { bearer, setup } from "./_testing.ts";

/** One sample of the text exposition format. */
interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family. */
interface Family {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Reads a label set `{a="x",b="y\"z"}` starting at `i`; returns labels and the index after `}`. */
function parseLabels(line: string, i: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  assert.equal(line[i], "{");
  i++;
  while (line[i] !== "}") {
    const eq = line.indexOf("=", i);
    assert.ok(eq > i, `label name expected in ${line}`);
    const name = line.slice(i, eq);
    assert.match(name, LABEL, `label name ${name}`);
    assert.ok(!(name in labels), `duplicate label ${name} in ${line}`);
    assert.equal(line[eq + 1], '"', `label value must be quoted in ${line}`);
    let v = "";
    let j = eq + 2;
    for (;; j++) {
      const ch = line[j];
      assert.ok(ch !== undefined, `unterminated label value in ${line}`);
      if (ch === '"') break;
      if (ch === "\\") {
        const esc = line[++j];
        if (esc === "\\") v += "\\";
        else if (esc === '"') v += '"';
        else if (esc === "n") v += "\n";
        else assert.fail(`invalid escape \\${esc} in ${line}`);
      } else v += ch;
    }
    labels[name] = v;
    i = j + 1;
    if (line[i] === ",") i++;
    else assert.equal(line[i], "}", `, or } expected in ${line}`);
  }
  return [labels, i + 1];
}

/**
 * A strict parser of the Prometheus text format 0.0.4: HELP and TYPE before a family's samples,
 * one TYPE per family, families not interleaved, counters named `_total`, valid names, escapes
 * and values, no duplicate series, a final newline.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current = null as Family | null;
  for (const line of text.slice(0, -1).split("\n")) {
    assert.notEqual(line, "", "no blank lines");
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, NAME);
      if (kind === "HELP") {
        assert.ok(!families.has(name), `family ${name} declared twice`);
        assert.doesNotMatch(rest.replace(/\\[\\n]/g, ""), /\\/, `HELP escapes in ${line}`);
        current = { name, type: "", help: rest, samples: [] };
        families.set(name, current);
      } else {
        assert.equal(current?.name, name, `TYPE ${name} follows its HELP`);
        assert.equal(current!.type, "", `one TYPE for ${name}`);
        assert.ok(
          ["counter", "gauge", "histogram", "summary", "untyped"].includes(rest),
          `type ${rest}`,
        );
        if (rest === "counter") assert.match(name, /_total$/, `counter ${name} ends in _total`);
        current!.type = rest;
      }
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment ${line}`);
    const nameEnd = line.search(/[{ ]/);
    const name = line.slice(0, nameEnd);
    assert.match(name, NAME);
    assert.equal(current?.name, name, `sample ${name} belongs to the family declared just before`);
    assert.notEqual(current!.type, "", `TYPE of ${name} before its samples`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === "{") [labels, i] = parseLabels(line, i);
    assert.equal(line[i], " ", `space before the value in ${line}`);
    const parts = line.slice(i + 1).split(" ");
    assert.ok(parts.length <= 2, `value [timestamp] in ${line}`);
    const raw = parts[0]!;
    assert.match(raw, /^(NaN|[+-]Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/, `value ${raw}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `duplicate series ${key}`);
    series.add(key);
    current!.samples.push({
      name,
      labels,
      value: raw === "NaN" ? NaN : Number(raw.replace("Inf", "Infinity")),
    });
  }
  return families;
}

async function snapshot(): Promise<FleetSnapshot> {
  return await new MemoryFleet({ clock: () => 1_790_000_000_000 }).read();
}

Deno.test("the exposition parser rejects what Prometheus rejects", () => {
  const bad = [
    "x 1\n", // no TYPE
    "# HELP x h\n# TYPE x counter\nx 1\n", // counter without _total
    '# HELP x h\n# TYPE x gauge\nx{a="\\q"} 1\n', // bad escape
    '# HELP x h\n# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n', // duplicate series
    "# HELP x h\n# TYPE x gauge\nx one\n", // bad value
    "# HELP x h\n# TYPE x gauge\nx 1", // no final newline
    '# HELP x h\n# TYPE x gauge\nx{a="1} 1\n', // unterminated
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), Error, JSON.stringify(text));
  assert.equal(
    parseExposition('# HELP x h\n# TYPE x gauge\nx{a="q\\"\\\\\\n"} +Inf\n').get("x")!.samples[0]!
      .labels["a"],
    'q"\\\n',
  );
});

Deno.test("renderMetrics() output is valid exposition with node, vip and real labels", async () => {
  const fams = parseExposition(
    renderMetrics(await snapshot(), {
      fleetUp: true,
      actions: [{ action: "drain", result: "ok", count: 2 }],
    }),
  );
  const get = (n: string) => {
    const f = fams.get(n);
    assert.ok(f, `family ${n}`);
    return f;
  };
  assert.equal(get("lvs_node_up").type, "gauge");
  assert.deepEqual(get("lvs_node_up").samples.map((s) => s.labels["node"]), [
    "node1",
    "node2",
    "node3",
  ]);
  assert.equal(get("lvs_node_packets_total").type, "counter");
  assert.deepEqual(get("lvs_node_packets_total").samples[0]!.labels, {
    node: "node1",
    direction: "in",
  });
  assert.equal(get("lvs_node_drops_total").type, "counter");
  assert.ok(get("lvs_node_drops_total").samples.some((s) => s.labels["reason"] === "no_session"));
  assert.equal(get("lvs_node_sessions").type, "gauge");
  assert.equal(get("lvs_node_syncookies_sent_total").type, "counter");
  const up = get("lvs_real_up").samples;
  assert.equal(up.length, 4 * 3, "4 reals x 3 nodes");
  assert.deepEqual(up[0]!.labels, {
    node: "node1",
    vip: "10.99.100.1:80/tcp",
    real: "10.99.1.21:8080",
  });
  assert.equal(
    get("lvs_real_weight").samples.find((s) => s.labels["real"] === "10.99.1.23:8080")!.value,
    50,
  );
  assert.deepEqual(
    get("lvs_node_state").samples.filter((s) => s.value === 1).map((
      s,
    ) => [s.labels["node"], s.labels["state"]]),
    [["node1", "active"], ["node2", "active"], ["node3", "active"]],
  );
  assert.equal(get("lvs_fleet_config_hashes").samples[0]!.value, 1);
  assert.deepEqual(get("lvs_dashboard_actions_total").samples, [
    { name: "lvs_dashboard_actions_total", labels: { action: "drain", result: "ok" }, value: 2 },
  ]);
  for (const f of fams.values()) if (f.type === "counter") assert.match(f.name, /_total$/);
});

Deno.test("renderMetrics() exports session sync per node and frames forwarded per peer and direction", async () => {
  const clock = { now: 1_790_000_000_000 };
  const fleet = new MemoryFleet({ clock: () => clock.now, drainMs: 60_000 });
  await fleet.drain("node2", "t");
  clock.now += 2000;
  const fams = parseExposition(renderMetrics(await fleet.read(), { fleetUp: true, actions: [] }));
  for (
    const [name, type] of [
      ["lvs_sync_records_sent_total", "counter"],
      ["lvs_sync_records_received_total", "counter"],
      ["lvs_sync_lost_total", "counter"],
      ["lvs_records_active", "gauge"],
      ["lvs_sync_synced", "gauge"],
      ["lvs_forwarded_frames_total", "counter"],
    ]
  ) {
    assert.equal(fams.get(name!)?.type, type, name);
  }
  assert.deepEqual(fams.get("lvs_records_active")!.samples.map((s) => s.labels), [
    { node: "node1" },
    { node: "node2" },
    { node: "node3" },
  ]);
  const fwd = fams.get("lvs_forwarded_frames_total")!.samples;
  assert.equal(fwd.length, 3 * 2 * 2, "3 nodes x 2 peers x 2 directions");
  const get = (node: string, direction: string, peer: string) =>
    fwd.find((s) =>
      s.labels["node"] === node && s.labels["direction"] === direction &&
      s.labels["peer"] === peer
    )!.value;
  assert.ok(get("node2", "in", "node1") > 0, "node1 forwards the drained node2's frames to it");
  assert.equal(get("node2", "in", "node1"), get("node1", "out", "node2"));
  fleet.setUnreachable("node3", "down");
  const without = parseExposition(
    renderMetrics(await fleet.read(), { fleetUp: true, actions: [] }),
  );
  assert.deepEqual(
    without.get("lvs_sync_lost_total")!.samples.map((s) => s.labels["node"]),
    ["node1", "node2"],
    "no sync figures for an unreachable node",
  );
});

Deno.test("renderMetrics() escapes label values with quotes, backslashes and newlines", async () => {
  const s = await snapshot();
  const odd = 'we"ird\\node\nname';
  const nodes = s.nodes.map((n, i) => (i === 0 ? { ...n, name: odd, version: "1.0\\beta" } : n));
  const text = renderMetrics({ ...s, nodes }, { fleetUp: true, actions: [] });
  assert.ok(text.includes(`node="${escapeLabelValue(odd)}"`));
  assert.ok(text.includes('node="we\\"ird\\\\node\\nname"'));
  const fams = parseExposition(text);
  assert.equal(fams.get("lvs_node_up")!.samples[0]!.labels["node"], odd);
  assert.equal(fams.get("lvs_node_info")!.samples[0]!.labels["version"], "1.0\\beta");
});

Deno.test("renderMetrics() leaves out figures of unreachable nodes and flags hash mismatches", async () => {
  const fleet = new MemoryFleet({ clock: () => 1_790_000_000_000 });
  fleet.setUnreachable("node2", "timeout");
  fleet.setConfigHash("node3", "other");
  const fams = parseExposition(renderMetrics(await fleet.read(), { fleetUp: true, actions: [] }));
  assert.deepEqual(fams.get("lvs_node_up")!.samples.map((s) => s.value), [1, 0, 1]);
  assert.deepEqual(fams.get("lvs_node_sessions")!.samples.map((s) => s.labels["node"]), [
    "node1",
    "node3",
  ]);
  assert.equal(fams.get("lvs_fleet_config_hashes")!.samples[0]!.value, 2);
  const mismatch = fams.get("lvs_node_config_mismatch")!.samples;
  // A 1:1 tie flags both nodes that reported a hash; the unreachable one reported none.
  assert.deepEqual(mismatch.map((s) => s.value), [1, 0, 1]);
});

Deno.test("GET /metrics serves the exposition content type; an unreadable fleet gives fleet_up 0", async () => {
  const { app, fleet, clock } = setup();
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const fams = parseExposition(await res.text());
  assert.equal(fams.get("lvs_dashboard_fleet_up")!.samples[0]!.value, 1);
  await app.request("/api/nodes/node1/drain", { method: "POST", headers: bearer() });
  fleet.setUnreadable(new Error("down"));
  clock.now += 1000;
  const down = parseExposition(await (await app.request("/metrics")).text());
  assert.equal(down.get("lvs_dashboard_fleet_up")!.samples[0]!.value, 0);
  assert.equal(down.has("lvs_node_up"), false);
  assert.deepEqual(
    down.get("lvs_dashboard_actions_total")!.samples.map((s) => [s.labels, s.value]),
    [
      [{ action: "drain", result: "ok" }, 1],
    ],
  );
});

Deno.test("GET /metrics needs a token when metricsPublic is false", async () => {
  const { app } = setup({ metricsPublic: false });
  assert.equal((await app.request("/metrics")).status, 401);
  assert.equal((await app.request("/metrics", { headers: bearer() })).status, 200);
});
