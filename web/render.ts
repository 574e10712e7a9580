/**
 * The dashboard's live regions, rendered on the server from a snapshot. Pure: data in, markup out.
 * The full page embeds them and every server-sent event carries them again, so the browser only
 * swaps markup and never re-implements the rendering.
 *
 * @example
 * ```ts
 * const regions = renderRegions({ snapshot, error: null, history, now: Date.now(), csrf, audit: [] });
 * regions.nodes; // "<table class=\"nodes\">..."
 * ```
 *
 * @module
 */
import { h, type Safe } from "./_html.ts";
import { compact, renderChart } from "./chart.ts";
import {
  type AuditEntry,
  type FleetSnapshot,
  hashVerdict,
  type NodeView,
  realKey,
  type RolloutView,
  vipKey,
  type VipView,
} from "./fleet.ts";
import type { FleetHistory, Sample } from "./history.ts";
import { renderForwardedTo, renderSyncCell } from "./render_sync.ts";
import type { SessionView } from "./sessions.ts";

/** Names of the regions the page is made of (`data-region` attributes). */
export const REGIONS = [
  "banner",
  "summary",
  "nodes",
  "charts",
  "vips",
  "rollouts",
  "audit",
  "sessions",
] as const;

/** One region name. */
export type RegionName = typeof REGIONS[number];

/** Everything the regions are drawn from. */
export interface RegionInput {
  /** Null when the fleet could not be read. */
  snapshot: FleetSnapshot | null;
  /** Why the fleet could not be read. */
  error: string | null;
  history: FleetHistory;
  now: number;
  /** The session's CSRF token, put in every action form. */
  csrf: string;
  audit: readonly AuditEntry[];
  /** Live dashboard sessions (default none). */
  sessions?: readonly SessionView[];
  /** The id of the viewer's own session, marked in the list. */
  currentSession?: string | null;
}

/** `HH:MM:SS` in UTC. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function fmtRate(v: number): string {
  return compact(Math.round(v));
}

/** Rates for the summary cards: 950, 6.2k, 1.3M. */
function short(v: number): string {
  return Math.abs(v) >= 1000 && Math.abs(v) < 1e4
    ? `${(v / 1000).toFixed(1)}k`
    : compact(Math.round(v));
}

function shortHash(hash: string): string {
  return hash.length > 12 ? hash.slice(0, 12) : hash;
}

function actionForm(
  action: string,
  label: string,
  confirm: string,
  csrf: string,
  cls: string,
): Safe {
  return h`<form method="post" action="${action}" data-confirm="${confirm}"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="btn ${cls}">${label}</button></form>`;
}

function renderBanner(input: RegionInput): Safe {
  if (input.error !== null) {
    return h`<div class="alert error" role="alert"><strong>Fleet state unavailable.</strong> ${input.error}</div>`;
  }
  const s = input.snapshot;
  if (s === null) return h``;
  const down = s.nodes.filter((n) => !n.reachable);
  const verdict = hashVerdict(s);
  const notes: Safe[] = [];
  if (down.length > 0) {
    notes.push(
      h`<div class="alert error" role="alert"><strong>Unreachable:</strong> ${
        down.map((n) => `${n.name} (${n.error ?? "no answer"})`).join("; ")
      }</div>`,
    );
  }
  if (verdict.mismatched.size > 0) {
    notes.push(
      h`<div class="alert warn" role="alert"><strong>Config hash mismatch:</strong> ${
        [...verdict.mismatched].join(", ")
      } ${verdict.mismatched.size === 1 ? "runs" : "run"} a configuration other than ${
        verdict.expected === null ? "the rest of the fleet" : shortHash(verdict.expected)
      }.</div>`,
    );
  }
  return h`${notes}`;
}

function renderSummary(s: FleetSnapshot | null): Safe {
  if (s === null) {
    return h`<div class="cards"><div class="card"><span class="label">Fleet</span><span class="value muted">unknown</span></div></div>`;
  }
  const active = s.nodes.filter((n) => n.state === "active").length;
  const verdict = hashVerdict(s);
  let sessions = 0;
  let ppsIn = 0;
  let ppsOut = 0;
  for (const n of s.nodes) {
    if (!n.reachable || n.stats === null) continue;
    sessions += n.stats.sessions;
    ppsIn += n.stats.ppsIn;
    ppsOut += n.stats.ppsOut;
  }
  let reals = 0;
  let realsUp = 0;
  for (const v of s.vips) {
    for (const r of v.reals) {
      reals++;
      if (r.health.length > 0 && r.health.every((x) => x.up)) realsUp++;
    }
  }
  const rollout = s.rollouts[0];
  const hashCard = verdict.mismatched.size > 0
    ? h`<div class="card bad"><span class="label">Config hash</span><span class="value">${verdict.distinct} different</span><span class="sub">${
      [...verdict.mismatched].join(", ")
    } differ</span></div>`
    : h`<div class="card"><span class="label">Config hash</span><span class="value mono">${
      verdict.expected === null ? "—" : shortHash(verdict.expected)
    }</span><span class="sub">${
      verdict.distinct <= 1 ? "identical on every node" : ""
    }</span></div>`;
  return h`<div class="cards">
<div class="card${
    active < s.nodes.length ? " warnc" : ""
  }"><span class="label">Nodes active</span><span class="value" data-field="active-count">${active} / ${s.nodes.length}</span><span class="sub">${
    s.nodes.filter((n) => !n.reachable).length
  } unreachable</span></div>
${hashCard}
<div class="card"><span class="label">Active sessions</span><span class="value" data-field="total-sessions">${
    compact(sessions)
  }</span><span class="sub">across the fleet</span></div>
<div class="card"><span class="label">Packets/s</span><span class="value" data-field="total-pps">${
    short(ppsIn)
  } <small>in</small> · ${
    short(ppsOut)
  } <small>out</small></span><span class="sub">data planes, last second</span></div>
<div class="card${
    realsUp < reals ? " warnc" : ""
  }"><span class="label">Real servers healthy</span><span class="value">${realsUp} / ${reals}</span><span class="sub">${s.vips.length} VIP${
    s.vips.length === 1 ? "" : "s"
  }</span></div>
<div class="card${
    rollout?.state === "halted" ? " bad" : ""
  }"><span class="label">Rolling upgrade</span><span class="value">${
    rollout ? rollout.state : "none"
  }</span><span class="sub">${rollout ? rollout.release : "no rollout yet"}</span></div>
</div>`;
}

function renderDrops(n: NodeView): Safe {
  const drops = Object.entries(n.stats?.drops ?? {}).filter(([, v]) => v > 0).sort((a, b) =>
    b[1] - a[1]
  );
  const total = drops.reduce((t, [, v]) => t + v, 0);
  if (total === 0) return h`<span class="muted">0</span>`;
  const all = drops.map(([k, v]) => `${k}: ${v}`).join("\n");
  return h`<span title="${all}">${compact(total)}</span><div class="reasons">${
    drops.slice(0, 2).map(([k, v]) => h`<span>${k} ${compact(v)}</span>`)
  }</div>`;
}

function renderNodeRow(n: NodeView, mismatched: boolean, csrf: string): Safe {
  const st = n.stats;
  const path = `/api/nodes/${encodeURIComponent(n.name)}`;
  let action = h`<span class="muted">—</span>`;
  if (n.reachable && n.state === "active") {
    action = actionForm(
      `${path}/drain`,
      "Drain",
      `Drain ${n.name}? Its VIPs are withdrawn from the router; existing sessions finish on it.`,
      csrf,
      "warn",
    );
  } else if (n.reachable && (n.state === "drained" || n.state === "draining")) {
    action = actionForm(
      `${path}/undrain`,
      "Undrain",
      `Undrain ${n.name}? Its VIPs are announced to the router again and it takes new flows.`,
      csrf,
      "primary",
    );
  }
  const hash = n.configHash === null
    ? h`<span class="muted">unknown</span>`
    : h`<span class="mono${mismatched ? " mismatch" : ""}" title="${n.configHash}">${
      shortHash(n.configHash)
    }</span>${mismatched ? h`<span class="flag">differs</span>` : h``}`;
  const ospf = n.ospf === null
    ? h`<span class="muted">unknown</span>`
    : h`<span class="pill ${
      /^full/i.test(n.ospf.adjacency) ? "ok" : "bad"
    }">${n.ospf.adjacency}</span><div class="reasons"><span class="${
      n.ospf.vipsAdvertised ? "" : "badtext"
    }">${
      n.ospf.vipsAdvertised
        ? "VIPs advertised"
        : n.ospf.advertised.length === 0
        ? "VIPs withdrawn"
        : `${n.ospf.advertised.length} VIPs advertised (not all)`
    }</span></div>`;
  const cookies = st === null
    ? h`<span class="muted">—</span>`
    : h`<span title="sent / valid / invalid">${compact(st.synCookies.sent)} / ${
      compact(st.synCookies.valid)
    } / <span class="${st.synCookies.invalid > 0 ? "badtext" : ""}">${
      compact(st.synCookies.invalid)
    }</span></span>`;
  const stateLabel = n.reachable ? n.state : "unreachable";
  return h`<tr data-node="${n.name}" data-state="${stateLabel}" class="${
    n.reachable ? "" : "unreachable"
  }">
<td><div class="nodename">${n.name}</div><div class="reasons mono">${n.address}</div>${
    n.error === null ? h`` : h`<div class="errtext" data-field="error">${n.error}</div>`
  }</td>
<td data-field="state"><span class="pill st-${stateLabel}">${stateLabel}</span>${
    renderForwardedTo(n)
  }</td>
<td data-field="version" class="mono">${n.version ?? h`<span class="muted">unknown</span>`}</td>
<td data-field="hash">${hash}</td>
<td data-field="ospf">${ospf}</td>
<td data-field="sessions" class="num">${st === null ? "—" : compact(st.sessions)}</td>
<td data-field="sync">${renderSyncCell(n)}</td>
<td data-field="pps-in" class="num">${st === null ? "—" : fmtRate(st.ppsIn)}</td>
<td data-field="pps-out" class="num">${st === null ? "—" : fmtRate(st.ppsOut)}</td>
<td data-field="drops" class="num">${
    st === null ? h`<span class="muted">—</span>` : renderDrops(n)
  }</td>
<td data-field="cookies" class="num">${cookies}</td>
<td class="act">${action}</td>
</tr>`;
}

function renderNodes(s: FleetSnapshot | null, csrf: string): Safe {
  if (s === null) return h`<p class="muted">No fleet state.</p>`;
  const verdict = hashVerdict(s);
  return h`<table class="grid-table nodes"><thead><tr><th>Node</th><th>State</th><th>Version</th><th>Config hash</th><th>OSPF</th><th class="num">Sessions</th><th>Sync</th><th class="num">pps in</th><th class="num">pps out</th><th class="num">Drops</th><th class="num">SYN cookies<br><small>sent / ok / bad</small></th><th></th></tr></thead><tbody>${
    s.nodes.map((n) => renderNodeRow(n, verdict.mismatched.has(n.name), csrf))
  }</tbody></table>`;
}

function series(history: FleetHistory, pick: (s: Sample) => number | null) {
  return history.nodes().map((name) => ({
    name,
    points: history.series(name).map((s) => ({ t: s.t, v: pick(s) })),
  }));
}

function renderCharts(history: FleetHistory, now: number): Safe {
  const from = now - history.windowMs;
  const names = history.nodes();
  const legend = h`<div class="legend">${
    names.map((n, i) => h`<span><i class="sw s${i % 8}"></i>${n}</span>`)
  }<span class="muted">last ${
    Math.round(history.windowMs / 60_000)
  } minutes, sampled by the dashboard</span></div>`;
  return h`${legend}<div class="charts">${[
    renderChart({ title: "Packets/s in", from, to: now, series: series(history, (s) => s.ppsIn) }),
    renderChart({
      title: "Packets/s out",
      from,
      to: now,
      series: series(history, (s) => s.ppsOut),
    }),
    renderChart({
      title: "Active sessions",
      from,
      to: now,
      series: series(history, (s) => s.sessions),
    }),
  ]}</div>`;
}

function renderVip(v: VipView): Safe {
  const flags = [v.scheduler, v.synproxy ? "synproxy" : "", v.toa ? "toa" : ""].filter((x) => x);
  const rows = v.reals.map((r) => {
    const up = r.health.filter((x) => x.up).length;
    const cls = r.health.length === 0
      ? "unknown"
      : up === r.health.length
      ? "ok"
      : up === 0
      ? "bad"
      : "warnp";
    const label = r.health.length === 0
      ? "unknown"
      : up === r.health.length
      ? "up"
      : up === 0
      ? "down"
      : `${up}/${r.health.length} up`;
    return h`<tr data-real="${realKey(r)}"><td class="mono">${
      realKey(r)
    }</td><td class="num">${r.weight}</td><td><span class="pill ${cls}">${label}</span></td><td>${
      r.health.map((x) =>
        h`<span class="chip ${x.up ? "ok" : "bad"}" title="${
          x.detail ?? ""
        }">${x.node} · w${x.weight}${x.up ? "" : ` · ${x.detail ?? "down"}`}</span>`
      )
    }</td></tr>`;
  });
  return h`<div class="vip" data-vip="${
    vipKey(v)
  }"><div class="viphead"><span class="mono strong">${vipKey(v)}</span>${
    flags.map((f) => h`<span class="tag">${f}</span>`)
  }</div><table class="grid-table"><thead><tr><th>Real server</th><th class="num">Weight</th><th>Health</th><th>Per node (effective weight)</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function renderVips(s: FleetSnapshot | null): Safe {
  if (s === null) return h`<p class="muted">No fleet state.</p>`;
  if (s.vips.length === 0) return h`<p class="muted">No VIPs configured.</p>`;
  return h`<div class="vips">${s.vips.map(renderVip)}</div>`;
}

function renderRollout(r: RolloutView, csrf: string, latest: boolean): Safe {
  const done = r.nodes.filter((n) => n.step === "done").length;
  const pct = r.nodes.length === 0 ? 0 : Math.round((done / r.nodes.length) * 100);
  const resume = r.state === "halted"
    ? actionForm(
      `/api/rollouts/${encodeURIComponent(r.id)}/resume`,
      "Resume",
      `Resume rollout ${r.id} of ${r.release}? It continues with the node that failed.`,
      csrf,
      "primary",
    )
    : h``;
  const head =
    h`<div class="rohead"><span class="pill ro-${r.state}">${r.state}</span> <span class="strong">${r.release}</span> <span class="muted">· ${r.id} · batch ${r.batchSize} · by ${r.startedBy} at ${
      clockTime(r.startedAt)
    } UTC</span>${resume}</div>`;
  if (!latest) return h`<li data-rollout="${r.id}">${head}</li>`;
  return h`<div class="rollout" data-rollout="${r.id}" data-state="${r.state}">${head}
<progress max="${
    Math.max(1, r.nodes.length)
  }" value="${done}"></progress><div class="muted">${done} of ${r.nodes.length} nodes upgraded (${pct}%)</div>
${
    r.error === null
      ? h``
      : h`<div class="alert error" role="alert"><strong>Halted:</strong> ${r.error}</div>`
  }
<ol class="steps">${
    r.nodes.map((n) =>
      h`<li data-node="${n.node}" data-step="${n.step}"><span class="nodename">${n.node}</span><span class="pill step-${n.step}">${n.step}</span><span class="muted">${
        n.message ?? ""
      }</span></li>`
    )
  }</ol></div>`;
}

function renderLease(s: FleetSnapshot): Safe {
  const l = s.lease;
  if (!l) return h``;
  return h`<div class="alert warn lease" role="status"><strong>Rollout lease</strong> held by <span class="mono">${l.holder}</span> on ${
    l.nodes.join(", ")
  } for ${
    Math.max(0, Math.round(l.expiresInMs / 1000))
  } s more (renewed while its rollout runs): no other rollout can start.</div>`;
}

function renderRollouts(s: FleetSnapshot | null, csrf: string): Safe {
  if (s === null) return h`<p class="muted">No fleet state.</p>`;
  const [latest, ...older] = s.rollouts;
  if (latest === undefined) {
    return h`${renderLease(s)}<p class="muted">No rolling upgrade has run yet.</p>`;
  }
  return h`${renderLease(s)}${renderRollout(latest, csrf, true)}${
    older.length
      ? h`<ul class="older">${older.slice(0, 5).map((r) => renderRollout(r, csrf, false))}</ul>`
      : h``
  }`;
}

function renderAudit(entries: readonly AuditEntry[]): Safe {
  if (entries.length === 0) return h`<p class="muted">No actions recorded yet.</p>`;
  return h`<table class="grid-table audit"><thead><tr><th>Time (UTC)</th><th>Who</th><th>Action</th><th>Target</th><th>Result</th><th>Message</th></tr></thead><tbody>${
    entries.map((e) =>
      h`<tr><td class="mono">${
        e.time.replace("T", " ").slice(0, 19)
      }</td><td>${e.who}</td><td>${e.action}</td><td class="mono">${e.target}</td><td><span class="pill res-${e.result}">${e.result}</span></td><td>${
        e.message ?? ""
      }</td></tr>`
    )
  }</tbody></table>`;
}

function renderSessions(
  sessions: readonly SessionView[],
  current: string | null,
  csrf: string,
): Safe {
  if (sessions.length === 0) return h`<p class="muted">No browser session is open.</p>`;
  const time = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  return h`<table class="grid-table sessions"><thead><tr><th>Operator</th><th>From</th><th>Logged in (UTC)</th><th>Last seen</th><th>Expires</th><th></th></tr></thead><tbody>${
    sessions.map((s) =>
      h`<tr data-session="${s.id}"><td>${s.operator}${
        s.id === current ? h` <span class="pill">this session</span>` : h``
      }</td><td class="mono">${s.remote ?? "unknown"}</td><td class="mono">${
        time(s.createdAt)
      }</td><td class="mono">${time(s.lastSeenAt)}</td><td class="mono">${
        time(s.expiresAt)
      }</td><td class="act">${
        actionForm(
          `/api/sessions/${s.id}/revoke`,
          "Revoke",
          `Revoke the session of ${s.operator} from ${s.remote ?? "an unknown address"}? ${
            s.id === current ? "This is your own session: you will be logged out." : ""
          }`,
          csrf,
          "ghost",
        )
      }</td></tr>`
    )
  }</tbody></table>`;
}

/** Renders every region. */
export function renderRegions(input: RegionInput): Record<RegionName, string> {
  return {
    banner: renderBanner(input).value,
    summary: renderSummary(input.snapshot).value,
    nodes: renderNodes(input.snapshot, input.csrf).value,
    charts: renderCharts(input.history, input.now).value,
    vips: renderVips(input.snapshot).value,
    rollouts: renderRollouts(input.snapshot, input.csrf).value,
    audit: renderAudit(input.audit).value,
    sessions: renderSessions(input.sessions ?? [], input.currentSession ?? null, input.csrf).value,
  };
}
