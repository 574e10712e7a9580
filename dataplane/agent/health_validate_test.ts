import assert from "node:assert/strict";
import { healthCheckProblem, healthTargetsProblem } from "./health_validate.ts";

const tcp = { kind: "tcp", intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 };
const http = { ...tcp, kind: "http", path: "/health", expectStatus: 200 };
const target = { key: "10.10.10.10:80/tcp/10.0.0.21:80", address: "10.0.0.21", port: 80 };

Deno.test("healthCheckProblem() names the field and the value of every bad field", () => {
  const cases: Array<[unknown, string | null]> = [
    [tcp, null],
    [http, null],
    [{ ...tcp, delayMs: 0 }, null],
    ["tcp", 'check must be an object, got "tcp"'],
    [[tcp], "check must be an object, got [{"],
    [{ ...tcp, kind: undefined }, "kind must be tcp or http, got undefined"],
    [{ ...tcp, rise: 1.5 }, "rise must be a positive integer, got 1.5"],
    [{ ...tcp, fall: null }, "fall must be a positive integer, got null"],
    [{ ...tcp, timeoutMs: "500" }, 'timeoutMs must be a positive integer, got "500"'],
    [{ ...tcp, intervalMs: 2 ** 31 }, "intervalMs must be at most 2147483647, got 2147483648"],
    [
      { ...tcp, delayMs: "1s" },
      'delayMs must be a non-negative integer of at most 2147483647, got "1s"',
    ],
    [{ ...tcp, timeoutMs: 2000 }, "timeoutMs (2000) must not exceed intervalMs (1000)"],
    [{ ...http, path: 7 }, "path must be a string, got 7"],
    [{ ...http, path: "health" }, `path must start with '/', got "health"`],
    [{ ...http, path: "/a b" }, 'path must not contain spaces or control characters, got "/a b"'],
    [{ ...http, expectStatus: 600 }, "expectStatus must be 100-599, got 600"],
  ];
  for (const [check, want] of cases) {
    const got = healthCheckProblem(check);
    if (want === null) assert.equal(got, null, JSON.stringify(check));
    else assert.ok(got?.startsWith(want), `${JSON.stringify(check)}: ${got}`);
  }
});

Deno.test("healthTargetsProblem() checks each target's key, address and port, and duplicates", () => {
  assert.equal(healthTargetsProblem([{ ...target, check: tcp }]), null);
  assert.equal(healthTargetsProblem({}), "checks must be an array, got {}");
  assert.equal(healthTargetsProblem([7]), "checks[0] must be an object, got 7");
  assert.equal(
    healthTargetsProblem([{ ...target, key: 1, check: tcp }]),
    "checks[0]: key must be a non-empty string, got 1",
  );
  assert.equal(
    healthTargetsProblem([{ ...target, address: "h.example", check: tcp }]),
    `check ${target.key}: address must be an IPv4 address, got "h.example"`,
  );
  assert.equal(
    healthTargetsProblem([{ ...target, port: 0, check: tcp }]),
    `check ${target.key}: port must be 1-65535, got 0`,
  );
  assert.equal(
    healthTargetsProblem([{ ...target, check: tcp }, { ...target, check: http }]),
    `check ${target.key} is listed twice`,
  );
  assert.equal(
    healthTargetsProblem([{ ...target, check: { ...tcp, rise: 0 } }]),
    `check ${target.key}: rise must be a positive integer, got 0`,
  );
});
