/**
 * The dashboard in a real browser: Debian's Chromium driven by `playwright-core`, against the
 * dashboard served on 127.0.0.1 by `serveDashboard`.
 *
 * The scenario is written against a {@link FleetHarness}, so the fleet behind the dashboard can be
 * swapped. This file registers it for the scripted in-memory fleet (counters move on their own);
 * the lab's test registers the same scenario with real nodes, the upstream router's next hops and a
 * client sending requests:
 *
 * ```ts
 * import { dashboardBrowserTest } from "./web_browser_test.ts";
 * dashboardBrowserTest("lab", labHarness, "dashboard-lab-overview.png");
 * ```
 *
 * Artifact: `tests/artifacts/dashboard-overview.png` (one per harness).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { MemoryAuditLog } from "../web/audit.ts";
import { ActionError, type ActionPort, type AuditLog, type FleetReader } from "../web/fleet.ts";
import { FleetHistory } from "../web/history.ts";
import { MemoryFleet } from "../web/memory_fleet.ts";
import { type DashboardServer, serveDashboard } from "../web/server.ts";
import { pollUntil } from "../routing/poll.ts";

/** The fleet the scenario runs against. */
export interface FleetHarness {
  reader: FleetReader;
  actions: ActionPort;
  audit: AuditLog;
  /** Names of the nodes, all expected active with identical config hashes at the start. */
  nodes: string[];
  /** Nodes the upstream router currently uses as next hops for the VIPs. */
  nextHops(): Promise<string[]>;
  /** Clock and history for the dashboard, when the harness provides them (e.g. pre-filled). */
  clock?: () => number;
  history?: FleetHistory;
  /** Makes the next drain fail with this reason, when the harness can (the in-memory fleet). */
  failNextDrain?(reason: string): void;
  /**
   * A release to roll out from the page, and the hook that makes one node fail its health gate
   * (returns the function that lets it pass again), when the harness can run rollouts quickly.
   */
  rollout?: { release: string; version: string; failGateOn(node: string): () => void };
  /** Starts traffic that makes the counters move (the lab: a client sending requests). */
  startLoad(): Promise<void>;
  stopLoad(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The in-memory fleet: counters follow the clock, a drain withdraws the node's next hop. Its clock
 * starts ten minutes in the past and the dashboard's history samples it up to now, so the charts
 * are full from the first frame.
 */
async function memoryHarness(): Promise<FleetHarness> {
  let offset = -600_000;
  const clock = () => Date.now() + offset;
  const fleet = new MemoryFleet({ nodes: 3, drainMs: 1500, stepMs: 250, clock });
  const history = new FleetHistory({ clock });
  for (; offset < 0; offset += history.intervalMs) history.record(await fleet.read());
  offset = 0;
  return {
    reader: fleet,
    actions: fleet,
    clock,
    history,
    failNextDrain: (reason) => fleet.failNext("drain", new ActionError(reason, { status: 502 })),
    rollout: {
      release: "/srv/releases/lvs-1.1.0.tar.gz",
      version: "1.1.0",
      failGateOn(node) {
        fleet.failUpgradeOn.add(node);
        return () => fleet.failUpgradeOn.delete(node);
      },
    },
    audit: new MemoryAuditLog(),
    nodes: ["node1", "node2", "node3"],
    nextHops: () => Promise.resolve(fleet.nextHops()),
    startLoad: () => Promise.resolve(),
    stopLoad: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const TOKEN = "browser-test-token-0123456789abcdef";
const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
const WAIT = { timeout: 20_000 };

async function nodeState(page: Page, node: string): Promise<string | null> {
  return await page.locator(`tr[data-node="${node}"]`).getAttribute("data-state");
}

/** Polls until `ok` (the router converges a moment after the page updates: OSPF, MinLSInterval). */
async function eventually(ok: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const held = await pollUntil(async () => (await ok()) || null, ms, 200);
  assert.ok(held, `timed out waiting until ${what}`);
}

async function waitForState(page: Page, node: string, state: string): Promise<void> {
  await page.locator(`tr[data-node="${node}"][data-state="${state}"]`).waitFor(WAIT);
}

async function confirmAction(page: Page, node: string, button: string): Promise<void> {
  await page.locator(`tr[data-node="${node}"] button`, { hasText: button }).click();
  const dialog = page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible", ...WAIT });
  assert.match(await dialog.innerText(), new RegExp(`${button} ${node}\\?`));
  await page.locator("#confirm-ok").click();
  await page.locator(".toast.ok").first().waitFor(WAIT);
}

async function scenario(
  t: Deno.TestContext,
  h: FleetHarness,
  server: DashboardServer,
  browser: Browser,
  artifact: string,
) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // Console errors include CSP violations and resources that failed to load.
  // An action that is meant to fail answers an HTTP error, which Chromium logs once.
  let expectedHttpErrors = 0;
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expectedHttpErrors > 0 && m.text().startsWith("Failed to load resource")) {
      expectedHttpErrors--;
    } else pageErrors.push(`console: ${m.text()} (${m.location().url})`);
  });
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations++;
  });

  await t.step("login with the operator token opens the overview", async () => {
    await page.goto(`${server.url}login`);
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(server.url, WAIT);
    await page.locator("#live.on").waitFor(WAIT);
  });
  const baseNavigations = navigations;
  await page.evaluate(() => ((globalThis as unknown as { __noReload: number }).__noReload = 42));

  await t.step("overview shows every node active with identical config hashes", async () => {
    const rows = page.locator("tr[data-node]");
    assert.equal(await rows.count(), h.nodes.length);
    const hashes = new Set<string>();
    for (const n of h.nodes) {
      assert.equal(await nodeState(page, n), "active");
      const hash = await page.locator(`tr[data-node="${n}"] [data-field="hash"] .mono`)
        .getAttribute("title");
      assert.ok(hash, `${n} shows a config hash`);
      hashes.add(hash);
    }
    assert.equal(hashes.size, 1, `identical hashes, got ${[...hashes].join(", ")}`);
    assert.equal(await page.locator(".mismatch, .flag").count(), 0);
    assert.equal(
      await page.locator('[data-field="active-count"]').innerText(),
      `${h.nodes.length} / ${h.nodes.length}`,
    );
    assert.deepEqual((await h.nextHops()).sort(), [...h.nodes].sort());
  });

  await t.step("counters change on the page without a reload", async () => {
    await h.startLoad();
    const n = h.nodes[0]!;
    const read = () =>
      page.locator(`tr[data-node="${n}"]`).evaluate((row) =>
        ["pps-in", "sessions", "cookies"].map((f) =>
          row.querySelector(`[data-field="${f}"]`)?.textContent
        ).join("|")
      );
    const before = await read();
    const firstId = Number(await page.locator("#live").getAttribute("data-event-id"));
    const changed = await pollUntil(async () => (await read()) !== before || null, {
      timeoutMs: WAIT.timeout,
      everyMs: 250,
      sleep: (ms) => page.waitForTimeout(ms),
    });
    assert.ok(changed, `the counters of ${n} did not change: ${before}`);
    const lastId = Number(await page.locator("#live").getAttribute("data-event-id"));
    assert.ok(lastId > firstId, `event ids grow (${firstId} -> ${lastId})`);
    await page.locator("figure.chart svg path.line").first().waitFor(WAIT);
  });

  await page.screenshot({ path: `${ARTIFACTS}${artifact}`, fullPage: true });

  const target = h.nodes[1]!;
  await t.step("cancelling the confirmation does nothing", async () => {
    await page.locator(`tr[data-node="${target}"] button`, { hasText: "Drain" }).click();
    await page.locator("dialog#confirm").waitFor({ state: "visible", ...WAIT });
    await page.locator('dialog#confirm button[value="cancel"]').click();
    await page.locator("dialog#confirm").waitFor({ state: "hidden", ...WAIT });
    assert.equal(await nodeState(page, target), "active");
  });

  await t.step(
    "drain, confirmed, turns the node drained live and removes its next hop",
    async () => {
      await confirmAction(page, target, "Drain");
      await waitForState(page, target, "drained");
      await eventually(
        async () => !(await h.nextHops()).includes(target),
        `${target} is no longer a next hop`,
      );
      // The node's BIRD reports the withdrawal on its next OSPF tick (up to a second later).
      await page.locator(`tr[data-node="${target}"] [data-field="ospf"]`, {
        hasText: "VIPs withdrawn",
      }).waitFor(WAIT);
      await page.screenshot({
        path: `${ARTIFACTS}${artifact.replace("overview", "drained")}`,
        fullPage: false,
      });
    },
  );

  await t.step("undrain brings it back", async () => {
    await confirmAction(page, target, "Undrain");
    await waitForState(page, target, "active");
    await eventually(
      async () => (await h.nextHops()).includes(target),
      `${target} is a next hop again`,
    );
  });

  if (h.failNextDrain) {
    await t.step("a failing action shows its reason to the operator", async () => {
      h.failNextDrain!("agent on node3 did not answer over SSH within 10 s");
      expectedHttpErrors++;
      await page.locator(`tr[data-node="node3"] button`, { hasText: "Drain" }).click();
      await page.locator("#confirm-ok").click();
      const toast = page.locator(".toast.error");
      await toast.waitFor(WAIT);
      assert.match(
        await toast.innerText(),
        /Drain of node3 failed: agent on node3 did not answer over SSH within 10 s/,
      );
      assert.equal(await nodeState(page, "node3"), "active");
      await toast.locator("button").click();
    });
  }

  await t.step("the audit log on the page lists both actions", async () => {
    // login, drain and undrain: three successful entries.
    await page.locator('[data-region="audit"] .res-ok').nth(2).waitFor(WAIT);
    const audit = await page.locator('[data-region="audit"]').innerText();
    assert.match(audit, new RegExp(`drain\\s+${target}`));
    assert.match(audit, new RegExp(`undrain\\s+${target}`));
  });

  const ro = h.rollout;
  if (ro) {
    await t.step(
      "a rolling upgrade started from the page halts on a failed gate, resumes and completes",
      async () => {
        const pass = ro.failGateOn(h.nodes[1]!);
        await page.fill('input[name="release"]', ro.release);
        await page.fill('input[name="batchSize"]', "1");
        await page.click('form.rollout-start button[type="submit"]');
        const dialog = page.locator("dialog#confirm");
        await dialog.waitFor({ state: "visible", ...WAIT });
        assert.match(
          await dialog.innerText(),
          new RegExp(`rolling upgrade to ${ro.release}, batch size 1`),
        );
        await page.locator("#confirm-ok").click();
        await page.locator('.rollout[data-state="halted"]').waitFor(WAIT);
        await page.locator(`.rollout li[data-node="${h.nodes[1]}"][data-step="failed"]`).waitFor(
          WAIT,
        );
        await page.locator(`.rollout li[data-node="${h.nodes[0]}"][data-step="done"]`).waitFor(
          WAIT,
        );
        assert.match(await page.locator(".rollout .alert.error").innerText(), /Halted:/);
        await waitForState(page, h.nodes[1]!, "drained");
        pass();
        await page.locator(".rollout button", { hasText: "Resume" }).click();
        await page.locator("dialog#confirm").waitFor({ state: "visible", ...WAIT });
        await page.locator("#confirm-ok").click();
        await page.locator('.rollout[data-state="completed"]').waitFor({ timeout: 60_000 });
        for (const n of h.nodes) {
          await page.locator(`tr[data-node="${n}"][data-state="active"]`).waitFor(WAIT);
          assert.equal(
            await page.locator(`tr[data-node="${n}"] [data-field="version"]`).innerText(),
            ro.version,
          );
        }
      },
    );
  }

  await t.step("all of it happened without a page reload", async () => {
    assert.equal(navigations, baseNavigations);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { __noReload?: number }).__noReload),
      42,
    );
    assert.deepEqual(pageErrors, []);
  });
  await h.stopLoad();
  await page.close();
}

/**
 * Registers the browser scenario against the fleet `make` builds; the overview screenshot goes to
 * `tests/artifacts/<artifact>`.
 */
export function dashboardBrowserTest(
  name: string,
  make: () => Promise<FleetHarness>,
  artifact: string,
): void {
  Deno.test({
    name: `dashboard in Chromium (${name} fleet): drain and undrain live, counters move, no reload`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      await Deno.mkdir(new URL("./artifacts/", import.meta.url), { recursive: true });
      const h = await make();
      let server: DashboardServer | undefined;
      let browser: Browser | undefined;
      try {
        server = serveDashboard({
          port: 0,
          hostname: "127.0.0.1",
          deps: {
            reader: h.reader,
            actions: h.actions,
            audit: h.audit,
            operators: [{ name: "browser-test", token: TOKEN }],
            ...(h.clock ? { clock: h.clock } : {}),
            ...(h.history ? { history: h.history } : {}),
          },
        });
        browser = await chromium.launch({
          executablePath: "/usr/bin/chromium",
          headless: true,
          args: CHROMIUM_ARGS,
        });
        await scenario(t, h, server, browser, artifact);
      } finally {
        await browser?.close();
        await server?.shutdown();
        await h.close();
      }
    },
  });
}

dashboardBrowserTest("memory", memoryHarness, "dashboard-overview.png");
