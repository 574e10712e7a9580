import assert from "node:assert/strict";
import { ActionError, type AuditEntry, type AuditLog } from "./fleet.ts";
import { bearer, login, ORIGIN, setup, TOKEN, TOKEN_BOB } from "./_testing.ts";

const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const FORM = "application/x-www-form-urlencoded";

Deno.test("API answers 401 with a Bearer challenge without a token or with a wrong one", async () => {
  const { app } = setup();
  for (
    const headers of [{}, { authorization: "Bearer not-the-token-at-all-xx" }, {
      authorization: "Basic abc",
    }]
  ) {
    const res = await app.request("/api/fleet", { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
    assert.match((await res.json()).error, /Authentication required/);
  }
  for (const path of ["/api/history", "/api/audit", "/api/rollouts/r1", "/events"]) {
    assert.equal((await app.request(path)).status, 401, path);
  }
});

Deno.test("API serves the fleet to a bearer token and to a logged-in session", async () => {
  const { app } = setup();
  const res = await app.request("/api/fleet", { headers: bearer() });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.nodes.map((n: { name: string }) => n.name), ["node1", "node2", "node3"]);
  const { cookie } = await login(app);
  assert.equal((await app.request("/api/fleet", { headers: { cookie } })).status, 200);
});

Deno.test("actions without authentication answer 401, change nothing and are audited as denied (aggregated per minute)", async () => {
  const { app, fleet, audit, clock } = setup();
  for (
    const path of [
      "/api/nodes/node1/drain",
      "/api/nodes/node1/undrain",
      "/api/rollouts",
      "/api/rollouts/r1/resume",
    ]
  ) {
    const res = await app.request(path, { method: "POST", headers: { origin: ORIGIN } });
    assert.equal(res.status, 401, path);
  }
  assert.equal(fleet.calls.filter((c) => c.method !== "read").length, 0);
  // The first refusal is recorded at once; the others are counted into one summary a minute later.
  assert.deepEqual(audit.entries.map((e) => [e.action, e.target]), [["drain", "node1"]]);
  clock.now += 60_000;
  await (await app.request("/api/audit", { headers: bearer() })).body?.cancel();
  assert.equal(audit.entries.length, 2);
  assert.ok(audit.entries.every((e) => e.result === "denied" && e.who === "anonymous"));
  assert.equal(audit.entries[1]!.action, "denials");
  assert.equal(audit.entries[1]!.count, 3);
  assert.match(audit.entries[1]!.message!, /3 more anonymous requests refused from unknown/);
});

Deno.test("drain with a bearer token reaches the action port and is audited with who, what and when", async () => {
  const { app, fleet, audit, clock } = setup();
  const res = await app.request("/api/nodes/node2/drain", {
    method: "POST",
    headers: bearer(TOKEN_BOB),
  });
  assert.equal(res.status, 200);
  assert.match((await res.json()).message, /node2 is draining/);
  assert.deepEqual(fleet.calls.find((c) => c.method === "drain")?.args, ["node2", "bob"]);
  assert.deepEqual(
    audit.entries.map((e) => [e.who, e.action, e.target, e.result, e.via, e.time]),
    [
      ["bob", "drain", "node2", "requested", "api", new Date(clock.now).toISOString()],
      ["bob", "drain", "node2", "ok", "api", new Date(clock.now).toISOString()],
    ],
  );
  assert.deepEqual(fleet.nextHops(), ["node1", "node3"]);
  const undrain = await app.request("/api/nodes/node2/undrain", {
    method: "POST",
    headers: bearer(),
  });
  assert.equal(undrain.status, 200);
  assert.deepEqual(fleet.nextHops(), ["node1", "node2", "node3"]);
});

Deno.test("login sets an HttpOnly SameSite=Strict session cookie; a wrong token is refused", async () => {
  const { app, audit } = setup();
  const ok = await app.request("/login", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": FORM },
    body: form({ token: TOKEN }),
  });
  assert.equal(ok.status, 303);
  const cookie = ok.headers.get("set-cookie") ?? "";
  assert.match(cookie, /^lvs_session=[^;]+;/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\//);
  const bad = await app.request("/login", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": FORM },
    body: form({ token: "wrong-token-wrong-token" }),
  });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get("set-cookie"), null);
  assert.match(await bad.text(), /That operator token is not valid/);
  assert.deepEqual(audit.entries.map((e) => [e.action, e.result]), [["login", "ok"], [
    "login",
    "denied",
  ]]);
});

Deno.test("a cross-site login form is refused (login CSRF)", async () => {
  const { app } = setup();
  const res = await app.request("/login", {
    method: "POST",
    headers: { origin: "https://evil.example", "content-type": FORM },
    body: form({ token: TOKEN }),
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("set-cookie"), null);
});

Deno.test("the page redirects to the login form without a session and logout ends it", async () => {
  const { app } = setup();
  const res = await app.request("/");
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/login");
  const { cookie, csrf } = await login(app);
  const out = await app.request("/logout", {
    method: "POST",
    headers: { cookie, origin: ORIGIN, "content-type": FORM },
    body: form({ _csrf: csrf }),
  });
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie") ?? "", /lvs_session=;/);
});

Deno.test("cookie-authenticated actions need the CSRF token and a same-origin Origin", async (t) => {
  const { app, fleet } = setup();
  const { cookie, csrf } = await login(app);
  const drain = (headers: Record<string, string>, body?: URLSearchParams) =>
    app.request("/api/nodes/node1/drain", {
      method: "POST",
      headers: {
        cookie,
        accept: "application/json",
        ...(body ? { "content-type": FORM } : {}),
        ...headers,
      },
      ...(body ? { body } : {}),
    });
  const cases: [string, Record<string, string>, URLSearchParams | undefined, RegExp][] = [
    ["no CSRF token", { origin: ORIGIN }, undefined, /CSRF token is missing or wrong/],
    ["wrong CSRF token", { origin: ORIGIN, "x-csrf-token": "forged" }, undefined, /CSRF token/],
    [
      "another session's token",
      { origin: ORIGIN },
      form({ _csrf: "AAAA" + csrf.slice(4) }),
      /CSRF token/,
    ],
    [
      "foreign Origin",
      { origin: "https://evil.example", "x-csrf-token": csrf },
      undefined,
      /cross-site request \(Origin/,
    ],
    ["no Origin nor Referer", { "x-csrf-token": csrf }, undefined, /neither Origin nor Referer/],
    [
      "foreign Referer",
      { referer: "https://evil.example/x", "x-csrf-token": csrf },
      undefined,
      /Referer origin/,
    ],
    [
      "Sec-Fetch-Site cross-site",
      { origin: ORIGIN, "sec-fetch-site": "cross-site", "x-csrf-token": csrf },
      undefined,
      /Sec-Fetch-Site/,
    ],
  ];
  for (const [name, headers, body, why] of cases) {
    await t.step(`refused: ${name}`, async () => {
      const res = await drain(headers, body);
      assert.equal(res.status, 403);
      assert.match((await res.json()).error, why);
    });
  }
  assert.equal(fleet.calls.filter((c) => c.method === "drain").length, 0);
  await t.step("accepted: header token, same origin", async () => {
    const res = await drain({ origin: ORIGIN, "x-csrf-token": csrf });
    assert.equal(res.status, 200);
  });
  await t.step("accepted: form token, same-origin Referer", async () => {
    const res = await app.request("/api/nodes/node1/undrain", {
      method: "POST",
      headers: { cookie, accept: "application/json", referer: `${ORIGIN}/`, "content-type": FORM },
      body: form({ _csrf: csrf }),
    });
    assert.equal(res.status, 200);
  });
  assert.deepEqual(fleet.calls.filter((c) => c.method !== "read").map((c) => c.args), [[
    "node1",
    "alice",
  ], ["node1", "alice"]]);
});

Deno.test("a session ends when it expires or when the operator's token is rotated", async () => {
  const secret = new Uint8Array(32).fill(7);
  const { app, clock } = setup({ sessionSecret: secret });
  const { cookie } = await login(app);
  clock.now += 13 * 3600_000;
  assert.equal((await app.request("/api/fleet", { headers: { cookie } })).status, 401);
  const first = setup({ sessionSecret: secret });
  const s = await login(first.app);
  const rotated = setup({
    sessionSecret: secret,
    operators: [{ name: "alice", token: "rotated-token-0123456789" }],
  });
  assert.equal(
    (await first.app.request("/api/fleet", { headers: { cookie: s.cookie } })).status,
    200,
  );
  assert.equal(
    (await rotated.app.request("/api/fleet", { headers: { cookie: s.cookie } })).status,
    401,
  );
});

Deno.test("the overview flags a config hash that differs from the fleet's", async () => {
  const { app, fleet, clock } = setup();
  const { cookie } = await login(app);
  fleet.setConfigHash("node3", "0badc0ffee0badc0ffee");
  clock.now += 1000;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  const row3 = /<tr data-node="node3"[\s\S]*?<\/tr>/.exec(page)![0];
  const row1 = /<tr data-node="node1"[\s\S]*?<\/tr>/.exec(page)![0];
  assert.match(row3, /class="mono mismatch"[^>]*>0badc0ffee0b</);
  assert.match(row3, /<span class="flag">differs<\/span>/);
  assert.doesNotMatch(row1, /mismatch|differs/);
  assert.match(
    page,
    /Config hash mismatch:<\/strong> node3 runs a configuration other than 9f2c4e71a0b3/,
  );
  assert.match(page, /2 different/);
});

Deno.test("the overview shows an unreachable node as such, with the reason", async () => {
  const { app, fleet, clock } = setup();
  const { cookie } = await login(app);
  fleet.setUnreachable("node2", "ssh 10.99.0.12:22: connect ECONNREFUSED");
  clock.now += 1000;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  const row = /<tr data-node="node2"[\s\S]*?<\/tr>/.exec(page)![0];
  assert.match(row, /data-state="unreachable"/);
  assert.match(row, /<span class="pill st-unreachable">unreachable<\/span>/);
  assert.match(row, /ssh 10\.99\.0\.12:22: connect ECONNREFUSED/);
  assert.doesNotMatch(row, /Drain|Undrain/);
  assert.match(page, /Unreachable:<\/strong> node2 \(ssh 10\.99\.0\.12:22: connect ECONNREFUSED\)/);
  assert.match(page, /1 unreachable/);
});

Deno.test("the overview says so when the fleet cannot be read at all; the API answers 503", async () => {
  const { app, fleet, clock } = setup();
  const { cookie } = await login(app);
  fleet.setUnreadable(new Error("cluster file /etc/lvs/cluster.yaml: permission denied"));
  clock.now += 1000;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  assert.match(
    page,
    /Fleet state unavailable.<\/strong> Cannot read the fleet state: cluster file \/etc\/lvs\/cluster.yaml: permission denied/,
  );
  const api = await app.request("/api/fleet", { headers: bearer() });
  assert.equal(api.status, 503);
  assert.match((await api.json()).error, /permission denied/);
});

Deno.test("a failing action answers its status and reason, and the failure is audited", async () => {
  const { app, fleet, audit } = setup();
  fleet.failNext(
    "drain",
    new ActionError("agent on node1 did not answer over SSH within 10 s", { status: 502 }),
  );
  const res = await app.request("/api/nodes/node1/drain", { method: "POST", headers: bearer() });
  assert.equal(res.status, 502);
  assert.equal(
    (await res.json()).error,
    "Drain of node1 failed: agent on node1 did not answer over SSH within 10 s",
  );
  const last = audit.entries.at(-1)!;
  assert.equal(last.result, "error");
  assert.match(last.message ?? "", /did not answer over SSH/);
  fleet.failNext("undrain", new Error("socket hang up"));
  const plain = await app.request("/api/nodes/node1/undrain", {
    method: "POST",
    headers: bearer(),
  });
  assert.equal(plain.status, 502);
  assert.match((await plain.json()).error, /Undrain of node1 failed: socket hang up/);
});

Deno.test("a failing action posted as a plain form shows the reason on a result page", async () => {
  const { app, fleet } = setup();
  const { cookie, csrf } = await login(app);
  fleet.failNext("drain", new ActionError("node1 is upgrading", { status: 409 }));
  const res = await app.request("/api/nodes/node1/drain", {
    method: "POST",
    headers: { cookie, origin: ORIGIN, accept: "text/html", "content-type": FORM },
    body: form({ _csrf: csrf }),
  });
  assert.equal(res.status, 409);
  assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await res.text(), /role="alert">Drain of node1 failed: node1 is upgrading</);
});

Deno.test("the failure of a refused drain shows on the dashboard's audit region", async () => {
  const { app, clock } = setup();
  const { cookie } = await login(app);
  await app.request("/api/nodes/node3/undrain", { method: "POST", headers: bearer() });
  clock.now += 1000;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  assert.match(
    page,
    /res-error">error<\/span><\/td><td>Undrain of node3 failed: node3 is active, not drained/,
  );
});

Deno.test("actions on unknown or malformed node names answer 404 and 400", async () => {
  const { app, fleet } = setup();
  const unknown = await app.request("/api/nodes/node9/drain", {
    method: "POST",
    headers: bearer(),
  });
  assert.equal(unknown.status, 404);
  assert.equal(
    (await unknown.json()).error,
    "Drain of node9 failed: no node node9 in the fleet (nodes: node1, node2, node3)",
  );
  const bad = await app.request("/api/nodes/-x/drain", { method: "POST", headers: bearer() });
  assert.equal(bad.status, 400);
  assert.equal(fleet.calls.filter((c) => c.method === "drain").length, 0);
});

Deno.test("an action is refused when the audit log cannot record it", async () => {
  const broken: AuditLog = {
    append: () => Promise.reject(new Error("disk full")),
    recent: () => Promise.resolve([] as AuditEntry[]),
  };
  const { app, fleet } = setup({ audit: broken });
  const res = await app.request("/api/nodes/node1/drain", { method: "POST", headers: bearer() });
  assert.equal(res.status, 503);
  assert.match(
    (await res.json()).error,
    /Drain of node1 was not started: the audit log cannot be written \(disk full\)/,
  );
  assert.equal(fleet.calls.filter((c) => c.method === "drain").length, 0);
});

Deno.test("rollouts: start, follow, lease conflict, halt and resume through the API", async () => {
  const { app, fleet, clock } = setup();
  fleet.failUpgradeOn.add("node2");
  const start = await app.request("/api/rollouts", {
    method: "POST",
    headers: { ...bearer(), "content-type": "application/json" },
    body: JSON.stringify({ release: "/srv/releases/lvs-1.1.0.tar.gz", batchSize: 1 }),
  });
  assert.equal(start.status, 201);
  const { rollout } = await start.json();
  assert.equal(rollout.state, "running");
  assert.equal(rollout.startedBy, "alice");
  const again = await app.request("/api/rollouts", {
    method: "POST",
    headers: { ...bearer(), "content-type": "application/json" },
    body: JSON.stringify({ release: "/srv/releases/lvs-1.2.0.tar.gz" }),
  });
  assert.equal(again.status, 409);
  assert.match((await again.json()).error, /rollout r1 is running/);
  clock.now += 20_000;
  const halted = await (await app.request(`/api/rollouts/${rollout.id}`, { headers: bearer() }))
    .json();
  assert.equal(halted.rollout.state, "halted");
  assert.deepEqual(halted.rollout.nodes.map((n: { step: string }) => n.step), [
    "done",
    "failed",
    "pending",
  ]);
  assert.match(halted.rollout.error, /node2 failed its health gate/);
  fleet.failUpgradeOn.clear();
  const resumed = await app.request(`/api/rollouts/${rollout.id}/resume`, {
    method: "POST",
    headers: bearer(),
  });
  assert.equal(resumed.status, 200);
  clock.now += 30_000;
  const done = await (await app.request(`/api/rollouts/${rollout.id}`, { headers: bearer() }))
    .json();
  assert.equal(done.rollout.state, "completed");
  const fleetNow = await (await app.request("/api/fleet", { headers: bearer() })).json();
  assert.deepEqual(fleetNow.nodes.map((n: { version: string }) => n.version), [
    "1.1.0",
    "1.1.0",
    "1.1.0",
  ]);
  assert.equal((await app.request("/api/rollouts/r404", { headers: bearer() })).status, 404);
});

Deno.test("rollout requests are validated before reaching the action port", async () => {
  const { app, fleet } = setup();
  for (
    const [body, why] of [
      [{}, /release must be/],
      [{ release: "a\nb" }, /release must be/],
      [
        { release: "/r.tgz", batchSize: 0 },
        /batch size must be a whole number from 1 to 64 \(got 0\)/,
      ],
      [{ release: "/r.tgz", batchSize: "two" }, /got two/],
    ] as const
  ) {
    const res = await app.request("/api/rollouts", {
      method: "POST",
      headers: { ...bearer(), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error, why);
  }
  assert.equal(fleet.calls.filter((c) => c.method === "startRollout").length, 0);
});

Deno.test("the page shows a halted rollout with per-node progress and a resume action", async () => {
  const { app, fleet, clock } = setup();
  const { cookie } = await login(app);
  fleet.failUpgradeOn.add("node1");
  await fleet.startRollout({ release: "/srv/lvs-2.0.0.tgz" }, "alice");
  clock.now += 10_000;
  const page = await (await app.request("/", { headers: { cookie } })).text();
  assert.match(page, /<div class="rollout" data-rollout="r1" data-state="halted">/);
  assert.match(page, /<li data-node="node1" data-step="failed">/);
  assert.match(page, /<li data-node="node2" data-step="pending">/);
  assert.match(page, /action="\/api\/rollouts\/r1\/resume"/);
  assert.match(page, /Halted:<\/strong> node1 failed its health gate/);
});

Deno.test("responses carry a strict CSP and other Host names are refused", async () => {
  const { app } = setup({ allowedHosts: ["127.0.0.1:8080"] });
  const ok = await app.request("http://127.0.0.1:8080/login");
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.equal(ok.headers.get("x-frame-options"), "DENY");
  const page = await ok.text();
  assert.doesNotMatch(page, /https?:\/\//, "no asset from the internet");
  assert.equal((await app.request("http://evil.example:8080/login")).status, 421);
});

Deno.test("the dashboard page is self-contained: stylesheet and script come from the app", async () => {
  const { app } = setup();
  const { cookie } = await login(app);
  const page = await (await app.request("/", { headers: { cookie } })).text();
  assert.doesNotMatch(page, /(src|href)="https?:/);
  assert.match(page, /<script src="\/assets\/app.js" defer><\/script>/);
  for (
    const [path, type] of [["/assets/app.js", /javascript/], [
      "/assets/app.css",
      /text\/css/,
    ]] as const
  ) {
    const res = await app.request(path);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", type);
    assert.doesNotMatch(await res.text(), /https?:\/\//);
  }
  for (
    const region of [
      "banner",
      "summary",
      "nodes",
      "charts",
      "vips",
      "rollouts",
      "audit",
      "sessions",
    ]
  ) {
    assert.match(page, new RegExp(`data-region="${region}"`));
  }
});

Deno.test("ten failed logins from one address within a minute lock that address out for a minute", async () => {
  const { app, clock } = setup();
  const attempt = (token: string) =>
    app.request("/login", {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": FORM },
      body: form({ token }),
    }, { remote: "192.0.2.7:40000" });
  for (let i = 0; i < 10; i++) assert.equal((await attempt("wrong-token-wrong-token")).status, 401);
  const locked = await attempt(TOKEN);
  assert.equal(locked.status, 429);
  assert.match(await locked.text(), /Too many failed logins/);
  clock.now += 61_000;
  assert.equal((await attempt(TOKEN)).status, 303);
});

Deno.test("login is refused when the audit log cannot record it", async () => {
  const broken: AuditLog = {
    append: () => Promise.reject(new Error("read-only file system")),
    recent: () => Promise.resolve([] as AuditEntry[]),
  };
  const { app } = setup({ audit: broken });
  const res = await app.request("/login", {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": FORM },
    body: form({ token: TOKEN }),
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("set-cookie"), null);
  assert.match(await res.text(), /audit log cannot be written \(read-only file system\)/);
});

Deno.test("the client script parses as JavaScript and uses only same-origin endpoints", async () => {
  const { APP_JS } = await import("./assets.ts");
  assert.doesNotThrow(() => new Function(APP_JS), "APP_JS compiles");
  const urls = [...APP_JS.matchAll(/(?:fetch|EventSource)\(\s*"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ["/events", "/api/fleet"]);
});

Deno.test("1,000 anonymous POSTs with 2 KB targets from one address write two capped audit entries a minute, and real entries stay visible", async () => {
  const { app, audit, clock } = setup();
  const from = (remote: string) => ({ remote: `${remote}:40000` });
  const long = "n".repeat(2048);
  await app.request("/api/nodes/node2/drain", { method: "POST", headers: bearer() });
  for (let i = 0; i < 1000; i++) {
    const res = await app.request(`/api/nodes/${long}${i}/drain`, {
      method: "POST",
      headers: { origin: ORIGIN },
    }, from("203.0.113.9"));
    assert.equal(res.status, 401);
    await res.body?.cancel();
  }
  await (await app.request("/api/rollouts", { method: "POST" }, from("198.51.100.4"))).body
    ?.cancel();
  const anonymous = () => audit.entries.filter((e) => e.who === "anonymous");
  assert.equal(anonymous().length, 2, "one entry per address so far");
  const first = anonymous()[0]!;
  assert.equal(first.remote, "203.0.113.9");
  assert.ok(first.target.length < 200, `target capped (${first.target.length})`);
  assert.match(first.target, /… \(1921 more characters\)$/);
  clock.now += 60_000;
  const recent = await (await app.request("/api/audit?limit=10", { headers: bearer() })).json();
  const summary = anonymous().find((e) => e.action === "denials")!;
  assert.equal(summary.count, 999);
  assert.equal(summary.target, "203.0.113.9");
  assert.match(
    summary.message!,
    /^999 more anonymous requests refused from 203\.0\.113\.9 within 60 s \(drain ×999\)/,
  );
  assert.equal(anonymous().length, 3, "the other address had nothing more to summarize");
  assert.ok(audit.entries.every((e) => JSON.stringify(e).length < 1200));
  // alice's drain is among the ten newest entries, not buried under a thousand refusals.
  assert.ok(
    recent.entries.some((e: AuditEntry) => e.who === "alice" && e.action === "drain"),
    JSON.stringify(recent.entries.map((e: AuditEntry) => e.action)),
  );
  // The next minute starts a new window: its first refusal is recorded at once.
  await (await app.request("/api/rollouts", { method: "POST" }, from("203.0.113.9"))).body
    ?.cancel();
  assert.equal(anonymous().length, 4);
});

Deno.test("logout ends the session on the server: a copied cookie stops working", async () => {
  const { app } = setup();
  const { cookie, csrf } = await login(app);
  const copy = cookie;
  assert.equal((await app.request("/api/fleet", { headers: { cookie: copy } })).status, 200);
  const out = await app.request("/logout", {
    method: "POST",
    headers: { cookie, origin: ORIGIN, "content-type": FORM },
    body: form({ _csrf: csrf }),
  });
  assert.equal(out.status, 303);
  const res = await app.request("/api/fleet", { headers: { cookie: copy } });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  const page = await app.request("/", { headers: { cookie: copy } });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/login");
  const drain = await app.request("/api/nodes/node1/drain", {
    method: "POST",
    headers: { cookie: copy, origin: ORIGIN, "x-csrf-token": csrf },
  });
  assert.equal(drain.status, 401);
  await drain.body?.cancel();
});

Deno.test("operators list the sessions and revoke one: its cookie and its live stream end; the page lists them", async () => {
  const { app, audit } = setup();
  const alice = await login(app);
  const bob = await login(app, TOKEN_BOB);
  const list = await (await app.request("/api/sessions", { headers: { cookie: alice.cookie } }))
    .json();
  assert.deepEqual(
    list.sessions.map((s: { operator: string; current: boolean }) => [s.operator, s.current]),
    [["bob", false], ["alice", true]],
  );
  const bobId = list.sessions[0].id as string;
  const page = await (await app.request("/", { headers: { cookie: alice.cookie } })).text();
  assert.match(page, new RegExp(`action="/api/sessions/${bobId}/revoke"`));
  assert.match(page, /alice <span class="pill">this session<\/span>/);

  // bob watches the live stream.
  const events = await app.request("/events", { headers: { cookie: bob.cookie } });
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /retry: 3000/);
  assert.match((await reader.read()).value ?? "", /event: fleet/);

  const revoke = await app.request(`/api/sessions/${bobId}/revoke`, {
    method: "POST",
    headers: {
      cookie: alice.cookie,
      origin: ORIGIN,
      "x-csrf-token": alice.csrf,
      accept: "application/json",
    },
  });
  assert.equal(revoke.status, 200);
  assert.match(
    (await revoke.json()).message,
    /The session of bob from an unknown address is revoked: its cookie no longer works/,
  );
  assert.ok(audit.entries.some((e) => e.action === "session.revoke" && e.result === "ok"));

  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += value;
  }
  assert.match(rest, /event: ended\ndata: the session ended \(logged out or revoked\)/);
  const after = await app.request("/api/fleet", { headers: { cookie: bob.cookie } });
  assert.equal(after.status, 401);
  await after.body?.cancel();
  assert.equal(
    (await app.request("/api/fleet", { headers: { cookie: alice.cookie } })).status,
    200,
  );

  const again = await app.request(`/api/sessions/${bobId}/revoke`, {
    method: "POST",
    headers: bearer(),
  });
  assert.equal(again.status, 404);
  assert.match((await again.json()).error, /no live session/);
  const bad = await app.request("/api/sessions/xyz/revoke", { method: "POST", headers: bearer() });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const anon = await app.request(`/api/sessions/${bobId}/revoke`, { method: "POST" });
  assert.equal(anon.status, 401);
  await anon.body?.cancel();
  assert.equal((await app.request("/api/sessions")).status, 401);
});

Deno.test("pages, /metrics and the API share one fleet read per half interval; an action makes the next one fresh", async () => {
  const { app, fleet, clock } = setup();
  const reads = () => fleet.calls.filter((c) => c.method === "read").length;
  const node2 = async () => {
    const body = await (await app.request("/api/fleet", { headers: bearer() })).json();
    return body.nodes.find((n: { name: string }) => n.name === "node2").state;
  };
  assert.equal(await node2(), "active");
  await (await app.request("/metrics")).body?.cancel();
  assert.equal(reads(), 1);
  const drain = await app.request("/api/nodes/node2/drain", { method: "POST", headers: bearer() });
  assert.equal(drain.status, 200);
  await drain.body?.cancel();
  assert.equal(await node2(), "draining", "the action's effect shows at once");
  assert.equal(reads(), 2);
  clock.now += 499;
  await node2();
  assert.equal(reads(), 2);
  clock.now += 1;
  await node2();
  assert.equal(reads(), 3);
});
