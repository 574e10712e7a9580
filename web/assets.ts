/**
 * The dashboard's stylesheet and client script, served from the app itself (`/assets/app.css`,
 * `/assets/app.js`) so the page needs nothing from the internet and runs under a strict Content
 * Security Policy (`script-src 'self'`, `style-src 'self'`).
 *
 * The script is small: it subscribes to `/events` and swaps each region's markup, asks for
 * confirmation before any action form is sent, sends it with the CSRF token, and shows the
 * outcome (an error says why). Without script the forms still post and the server answers with a
 * result page.
 *
 * @module
 */

/** Stylesheet. */
export const APP_CSS = `
:root{--bg:#f4f6f9;--panel:#fff;--ink:#1b2430;--muted:#6b7686;--line:#e2e7ee;--head:#0f1b2d;
--ok:#0f8a4b;--okbg:#e3f6ec;--warn:#b25e00;--warnbg:#fff1de;--bad:#c0262d;--badbg:#fde8e8;
--info:#1f5fbf;--infobg:#e6effc;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:var(--head);color:#fff;display:flex;align-items:center;gap:16px;padding:10px 24px}
header.top .brand{font-weight:650;font-size:16px;letter-spacing:.2px}
header.top .cluster{color:#9fb3cc}
header.top .spacer{flex:1}
header.top form{margin:0}
header.top .who{color:#c9d6e6}
.live{font-size:12px;padding:3px 10px;border-radius:999px;background:#25344a;color:#c9d6e6}
.live.on::before{content:"";display:inline-block;width:7px;height:7px;border-radius:50%;background:#3ddc84;margin-right:6px;vertical-align:1px}
.live.off{background:#5a2a2d;color:#ffd7d9}
main{padding:18px 24px 40px;max-width:1500px;margin:0 auto}
section.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-top:16px}
section.panel h2{font-size:13px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);margin:0 0 10px;font-weight:650}
.cards{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-left:4px solid var(--info);border-radius:10px;padding:10px 14px;display:flex;flex-direction:column;min-width:0}
.card.bad{border-left-color:var(--bad);background:var(--badbg)}
.card.warnc{border-left-color:var(--warn)}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.5px}
.card .value{font-size:22px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.card .value small{font-size:12px;color:var(--muted);font-weight:500}
.card .sub{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.alert{border-radius:8px;padding:9px 12px;margin:0 0 10px;border:1px solid}
.alert.error{background:var(--badbg);border-color:#f3b6b8;color:#7d1116}
.alert.ok{background:var(--okbg);border-color:#b9e5cc;color:#0b5a32}
.alert.warn{background:var(--warnbg);border-color:#f5cf9b;color:#6b3900}
.grid-table{width:100%;border-collapse:collapse}
.grid-table th{font-size:12px;color:var(--muted);text-align:left;font-weight:600;padding:6px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
.grid-table td{padding:8px;border-bottom:1px solid var(--line);vertical-align:top}
.grid-table tbody tr:last-child td{border-bottom:0}
.grid-table .num{text-align:right;font-variant-numeric:tabular-nums}
.nodes tr.unreachable td{background:#fff7f7}
.nodename{font-weight:650}
.mono{font-family:var(--mono);font-size:12.5px}
.strong{font-weight:650}
.muted{color:var(--muted)}
.reasons{font-size:11.5px;color:var(--muted);display:flex;flex-direction:column;gap:1px;margin-top:2px}
.errtext{color:var(--bad);font-size:12px;margin-top:3px;max-width:260px}
.badtext{color:var(--bad);font-weight:600}
.mismatch{color:var(--bad);font-weight:700;background:var(--badbg);padding:1px 5px;border-radius:4px}
.flag{margin-left:6px;font-size:11px;font-weight:700;color:#fff;background:var(--bad);padding:1px 6px;border-radius:999px;text-transform:uppercase}
.pill{display:inline-block;font-size:12px;font-weight:600;padding:1px 9px;border-radius:999px;background:#eef1f5;color:#3b4656;white-space:nowrap}
.pill.ok,.pill.st-active,.pill.step-done,.pill.ro-completed,.pill.res-ok{background:var(--okbg);color:var(--ok)}
.pill.bad,.pill.st-down,.pill.st-unreachable,.pill.step-failed,.pill.ro-halted,.pill.res-error,.pill.res-denied{background:var(--badbg);color:var(--bad)}
.pill.st-draining,.pill.st-drained,.pill.warnp{background:var(--warnbg);color:var(--warn)}
.pill.st-upgrading,.pill.ro-running,.pill.step-draining,.pill.step-shipping,.pill.step-restarting,.pill.step-health-gate,.pill.step-undraining,.pill.res-requested{background:var(--infobg);color:var(--info)}
.chip{display:inline-block;font-size:12px;padding:1px 8px;margin:0 4px 3px 0;border-radius:6px;border:1px solid var(--line)}
.chip.ok{border-color:#b9e5cc;background:#f3fbf6}
.chip.bad{border-color:#f3b6b8;background:var(--badbg);color:var(--bad)}
.tag{font-size:11px;margin-left:6px;padding:1px 7px;border-radius:4px;background:#eef1f5;color:#3b4656}
.btn{font:inherit;font-size:13px;font-weight:600;border-radius:7px;padding:4px 12px;border:1px solid #c8d0db;background:#fff;color:var(--ink);cursor:pointer}
.btn:hover{filter:brightness(.96)}
.btn.primary{background:var(--info);border-color:var(--info);color:#fff}
.btn.warn{background:#fff;border-color:#e6a24a;color:var(--warn)}
.btn.ghost{background:transparent;border-color:#3b4b63;color:#dbe5f1}
td.act form{margin:0}
.grid2{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.grid2>section.panel{margin-top:16px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;margin-bottom:6px}
.legend i.sw{display:inline-block;width:12px;height:3px;border-radius:2px;margin-right:5px;vertical-align:3px}
.charts{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:14px}
figure.chart{margin:0}
figure.chart figcaption{font-size:12px;font-weight:600;color:var(--muted);margin-bottom:2px}
figure.chart svg{width:100%;height:auto;display:block;background:#fbfcfd;border:1px solid var(--line);border-radius:8px}
svg .grid{stroke:#e8ecf2;stroke-width:1}
svg .axis{fill:#8792a2;font-size:10px;font-family:system-ui,sans-serif}
svg .line{fill:none;stroke-width:1.8;stroke-linejoin:round}
.s0{stroke:#1f6fe0;background:#1f6fe0}.s1{stroke:#e5731d;background:#e5731d}.s2{stroke:#13a06b;background:#13a06b}
.s3{stroke:#a43fd1;background:#a43fd1}.s4{stroke:#d0344b;background:#d0344b}.s5{stroke:#0f9cb4;background:#0f9cb4}
.s6{stroke:#7a6a12;background:#7a6a12}.s7{stroke:#59606b;background:#59606b}
.vips{display:flex;flex-direction:column;gap:14px}
.viphead{margin-bottom:4px}
.rohead{display:flex;align-items:center;gap:6px;flex-wrap:wrap}
.rohead form{margin-left:auto}
progress{width:100%;height:8px;margin:10px 0 4px;accent-color:var(--ok)}
ol.steps{list-style:none;padding:0;margin:10px 0 0;display:flex;flex-direction:column;gap:6px}
ol.steps li{display:grid;grid-template-columns:110px 110px 1fr;align-items:center;gap:8px}
ol.steps li .pill{justify-self:start}
ul.older{list-style:none;padding:0;margin:12px 0 0;border-top:1px solid var(--line)}
ul.older li{padding:6px 0}
form.rollout-start{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin-bottom:12px;padding-bottom:12px;border-bottom:1px solid var(--line)}
label.field{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
input[type=text],input[type=number],input[type=password]{font:inherit;padding:5px 8px;border:1px solid #c8d0db;border-radius:7px;min-width:0}
input[name=release]{width:280px}
input[name=batchSize]{width:80px}
dialog{border:0;border-radius:12px;padding:18px 20px;max-width:460px;box-shadow:0 18px 50px rgba(15,27,45,.35)}
dialog::backdrop{background:rgba(15,27,45,.45)}
dialog h3{margin:0 0 8px;font-size:16px}
dialog menu{display:flex;justify-content:flex-end;gap:8px;padding:0;margin:16px 0 0}
#toasts{position:fixed;right:18px;bottom:18px;display:flex;flex-direction:column;gap:8px;z-index:10;max-width:440px}
.toast{padding:10px 14px;border-radius:8px;box-shadow:0 6px 20px rgba(15,27,45,.18);border:1px solid;display:flex;gap:10px;align-items:start}
.toast.ok{background:var(--okbg);border-color:#b9e5cc;color:#0b5a32}
.toast.error{background:var(--badbg);border-color:#f3b6b8;color:#7d1116}
.toast button{margin-left:auto;border:0;background:transparent;cursor:pointer;font-size:16px;line-height:1;color:inherit}
.login{max-width:380px;margin:80px auto;background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:24px}
.login h1{font-size:18px;margin:0 0 14px}
.login form{display:flex;flex-direction:column;gap:12px}
.result{max-width:640px;margin:60px auto;background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:24px}
@media (max-width:1100px){.cards{grid-template-columns:repeat(3,minmax(0,1fr))}.charts{grid-template-columns:1fr}.grid2{grid-template-columns:1fr}}
`;

/** Client script (plain ES2020, no build step). */
export const APP_JS = `"use strict";
(() => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const live = document.getElementById("live");
  const toasts = document.getElementById("toasts");
  const dialog = document.getElementById("confirm");
  const dialogText = document.getElementById("confirm-text");
  let pending = null;

  function notify(kind, text) {
    const el = document.createElement("div");
    el.className = "toast " + kind;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    const span = document.createElement("span");
    span.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\\u00d7";
    close.addEventListener("click", () => el.remove());
    el.append(span, close);
    toasts.prepend(el);
    if (kind !== "error") setTimeout(() => el.remove(), 8000);
  }

  function apply(regions) {
    for (const [name, html] of Object.entries(regions)) {
      const el = document.querySelector('[data-region="' + name + '"]');
      if (el && el.innerHTML !== html) el.innerHTML = html;
    }
  }

  function connect() {
    const es = new EventSource("/events");
    es.addEventListener("fleet", (ev) => {
      const msg = JSON.parse(ev.data);
      apply(msg.regions);
      live.textContent = "Live \\u00b7 " + msg.time + " UTC";
      live.className = "live on";
      live.dataset.eventId = ev.lastEventId;
    });
    es.onerror = () => {
      live.textContent = "Reconnecting\\u2026";
      live.className = "live off";
      if (es.readyState !== EventSource.CLOSED) return;
      // The server refused the stream: find out why instead of retrying blindly.
      fetch("/api/fleet", { headers: { Accept: "application/json" } }).then((res) => {
        if (res.status === 401) location.href = "/login";
        else setTimeout(connect, 3000);
      }, () => setTimeout(connect, 3000));
    };
  }

  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    ev.preventDefault();
    const body = new URLSearchParams(new FormData(form));
    let text = form.dataset.confirm;
    for (const [k, v] of body) text = text.split("{" + k + "}").join(v || "(policy default)");
    pending = { action: form.getAttribute("action"), body };
    dialogText.textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", async () => {
    const p = pending;
    pending = null;
    if (dialog.returnValue !== "confirm" || !p) return;
    try {
      const res = await fetch(p.action, {
        method: "POST",
        body: p.body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      });
      let data = null;
      try { data = await res.json(); } catch (_) { data = null; }
      if (!res.ok) notify("error", (data && data.error) || ("HTTP " + res.status + " " + res.statusText));
      else notify("ok", (data && data.message) || "Done");
    } catch (err) {
      notify("error", "The request did not reach the dashboard: " + err.message);
    }
  });

  connect();
})();
`;

/** Favicon: a small SVG of three nodes behind one VIP. */
export const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f1b2d"/>` +
  `<circle cx="16" cy="8" r="3.2" fill="#3ddc84"/><path d="M16 11v5M16 16L7 22M16 16v6M16 16l9 6" stroke="#9fb3cc" stroke-width="2"/>` +
  `<circle cx="7" cy="24" r="3" fill="#1f6fe0"/><circle cx="16" cy="24" r="3" fill="#1f6fe0"/><circle cx="25" cy="24" r="3" fill="#1f6fe0"/></svg>`;
