/**
 * The session sync parts of a node's row: the records it holds and the frames it forwards each
 * way, and, for a drained node, whether its peers still forward frames to it (it keeps serving
 * its sessions through them). Pure: data in, markup out.
 *
 * @module
 */
import { h, type Safe } from "./_html.ts";
import { compact } from "./chart.ts";
import type { NodeView } from "./fleet.ts";

const rate = (v: number) => compact(Math.round(v));

/** The Sync cell: records held, frames per second forwarded out / in, per-peer totals on hover. */
export function renderSyncCell(n: NodeView): Safe {
  const s = n.sync;
  if (s === null) return h`<span class="muted">${n.reachable ? "off" : "—"}</span>`;
  const perPeer = s.peers.map((p) =>
    `${p.node}: ${p.forwardedOut} out / ${p.forwardedIn} in${p.heard ? "" : " (never heard)"}`
  ).join("\n");
  return h`<span title="peers' sessions this node holds records of">${
    compact(s.records)
  } records</span><div class="reasons"><span title="${perPeer}">fwd ${
    rate(s.forwardedOutPerSecond)
  }/s out · ${rate(s.forwardedInPerSecond)}/s in</span>${
    s.synced ? h`` : h`<span class="badtext">waiting for peers' sessions</span>`
  }${
    s.unanswered.length > 0
      ? h`<span class="badtext">joined without ${s.unanswered.join(", ")}'s sessions</span>`
      : h``
  }${
    s.lost > 0 ? h`<span>${compact(s.lost)} datagram${s.lost === 1 ? "" : "s"} lost</span>` : h``
  }</div>`;
}

/**
 * Under a drained or draining node's state: its live sessions and whether frames are still
 * forwarded to it; nothing for other nodes.
 */
export function renderForwardedTo(n: NodeView): Safe {
  if (!n.reachable || (n.state !== "drained" && n.state !== "draining")) return h``;
  const sessions = n.stats?.sessions ?? 0;
  const live = h`${compact(sessions)} live session${sessions === 1 ? "" : "s"}`;
  if (n.sync === null) return h`<div class="reasons" data-field="forwarded-to">${live}</div>`;
  const r = n.sync.forwardedInPerSecond;
  return h`<div class="reasons" data-field="forwarded-to"><span>${live}</span><span>${
    r > 0 ? `${rate(r)} frames/s still forwarded to it` : "no frames forwarded to it"
  }</span></div>`;
}
