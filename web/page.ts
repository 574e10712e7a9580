/**
 * Whole pages: the dashboard (regions from `render.ts` inside a static frame), the login form and
 * the result page answered to a form posted without script. Pure: data in, HTML out.
 *
 * @module
 */
import { h, raw, type Safe } from "./_html.ts";
import type { RegionName } from "./render.ts";

function layout(title: string, head: Safe, body: Safe): string {
  return h`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="icon" href="/favicon.ico" type="image/svg+xml"><link rel="stylesheet" href="/assets/app.css">${head}</head>
<body>${body}</body></html>`.value;
}

/** What the dashboard page needs. */
export interface DashboardPage {
  cluster: string;
  operator: string;
  csrf: string;
  /** Rendered regions (already escaped markup). */
  regions: Record<RegionName, string>;
  /** Time of the data, `HH:MM:SS` UTC. */
  time: string;
}

function region(name: RegionName, regions: Record<RegionName, string>): Safe {
  return h`<div data-region="${name}">${raw(regions[name])}</div>`;
}

/** The dashboard. */
export function renderDashboard(p: DashboardPage): string {
  const r = p.regions;
  const body =
    h`<header class="top"><span class="brand">LVS cluster</span><span class="cluster">${p.cluster}</span><span class="spacer"></span><span id="live" class="live" aria-live="polite">Connecting… · ${p.time} UTC</span><span class="who">${p.operator}</span><form method="post" action="/logout"><input type="hidden" name="_csrf" value="${p.csrf}"><button class="btn ghost" type="submit">Log out</button></form></header>
<main>
${region("banner", r)}
${region("summary", r)}
<section class="panel"><h2>Nodes</h2>${region("nodes", r)}</section>
<section class="panel"><h2>Traffic</h2>${region("charts", r)}</section>
<div class="grid2">
<section class="panel"><h2>Virtual services</h2>${region("vips", r)}</section>
<section class="panel"><h2>Rolling upgrade</h2>
<form class="rollout-start" method="post" action="/api/rollouts" data-confirm="Start a rolling upgrade to {release}, batch size {batchSize}? Each node is drained, upgraded, health-gated and undrained in turn; the rollout halts on the first failure."><input type="hidden" name="_csrf" value="${p.csrf}">
<label class="field">Release<input type="text" name="release" required maxlength="1024" placeholder="/srv/releases/lvs-1.4.2.tar.gz" autocomplete="off"></label>
<label class="field">Batch<input type="number" name="batchSize" min="1" max="64" placeholder="policy"></label>
<button class="btn primary" type="submit">Start rollout</button></form>
${region("rollouts", r)}</section>
</div>
<section class="panel"><h2>Audit log</h2>${region("audit", r)}</section>
<section class="panel"><h2>Sessions</h2>${region("sessions", r)}</section>
</main>
<dialog id="confirm" aria-labelledby="confirm-title"><form method="dialog"><h3 id="confirm-title">Please confirm</h3><p id="confirm-text"></p><menu><button class="btn" value="cancel" type="submit">Cancel</button><button class="btn primary" value="confirm" type="submit" id="confirm-ok">Confirm</button></menu></form></dialog>
<div id="toasts" aria-live="assertive"></div>
<script src="/assets/app.js" defer></script>`;
  return layout(
    `${p.cluster} · LVS cluster`,
    h`<meta name="csrf-token" content="${p.csrf}">`,
    body,
  );
}

/** The login form; `error` is shown above it. */
export function renderLogin(error: string | null): string {
  return layout(
    "Log in · LVS cluster",
    h``,
    h`<div class="login"><h1>LVS cluster dashboard</h1>${
      error === null ? h`` : h`<div class="alert error" role="alert">${error}</div>`
    }<form method="post" action="/login"><label class="field">Operator token<input type="password" name="token" required autocomplete="current-password" autofocus></label><button class="btn primary" type="submit">Log in</button></form><p class="muted">The token comes from the cluster file or the <span class="mono">LVS_DASHBOARD_TOKEN</span> environment variable.</p></div>`,
  );
}

/** The page answered to an action form posted without script. */
export function renderResult(ok: boolean, message: string): string {
  return layout(
    `${ok ? "Done" : "Failed"} · LVS cluster`,
    h``,
    h`<div class="result"><div class="alert ${ok ? "ok" : "error"}" role="${
      ok ? "status" : "alert"
    }">${message}</div><p><a href="/">Back to the dashboard</a></p></div>`,
  );
}
