/**
 * The house rule, read from the code's own imports: dependencies run one way.
 *
 *   web ← cluster → dataplane/agent/api.ts → dataplane/agent → routing, dataplane/binding
 *
 * - `routing/`'s pure modules are the base the rooms build on: the IPv4 parser, `errorText`
 *   (`errors.ts`), `pollUntil` (`poll.ts`). `routing/` imports nothing outside itself; `web/`
 *   imports nothing but those (`dataplane/binding` and the agent use them too; nothing uses
 *   `routing/bird/` but the agent and the lab);
 * - nothing under `routing/` or `dataplane/` imports `cluster/`;
 * - `cluster/` reaches the data plane only through the agent's contract, `dataplane/agent/api.ts`;
 * - test files (`*_test.ts`, `_testing.ts`, `tests/`) and the top-level `mod.ts` may import across.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function sourceFiles(dir = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
    const path = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory) {
      if (["node_modules", "build", "artifacts", ".git", "tests", "fixtures"].includes(e.name)) {
        continue;
      }
      out.push(...await sourceFiles(path));
    } else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

function isTestFile(path: string): boolean {
  return /(_test|_testing)\.ts$/.test(path) || path === "mod.ts";
}

/** The relative imports of a module, resolved to repository paths. */
export function importsOf(path: string, text: string): string[] {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    const parts = dir ? dir.split("/") : [];
    for (const seg of m[1]!.split("/")) {
      if (seg === "..") parts.pop();
      else if (seg !== ".") parts.push(seg);
    }
    out.push(parts.join("/"));
  }
  return out;
}

/** The room a file lives in, for the dependency rule. */
export function roomOf(path: string): string {
  if (path === "dataplane/agent/api.ts") return "dataplane/agent/api";
  if (path.startsWith("routing/bird/")) return "routing/bird";
  for (const r of ["dataplane/binding", "dataplane/testing", "dataplane/agent"]) {
    if (path.startsWith(`${r}/`)) return r;
  }
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

/** Rooms each room may import from (its own always allowed). */
const ALLOWED: Record<string, string[]> = {
  "routing": [],
  "routing/bird": ["routing"],
  "web": ["routing"],
  "dataplane/binding": ["routing"],
  "dataplane/testing": ["dataplane/binding", "routing"],
  "dataplane": ["dataplane/binding", "dataplane/testing"],
  "dataplane/agent": ["dataplane/agent/api", "dataplane/binding", "routing", "routing/bird"],
  "dataplane/agent/api": ["dataplane/agent", "dataplane/binding", "routing"],
  "cluster": ["web", "routing", "routing/bird", "dataplane/agent/api"],
};

/** Every import that breaks the rule, as "from -> to". */
export async function layoutViolations(): Promise<string[]> {
  const bad: string[] = [];
  for (const file of await sourceFiles()) {
    if (isTestFile(file)) continue;
    const from = roomOf(file);
    const allowed = ALLOWED[from];
    for (const target of importsOf(file, await Deno.readTextFile(`${ROOT}${file}`))) {
      const to = roomOf(target);
      if (to === from) continue;
      if (!allowed || !allowed.includes(to)) bad.push(`${file} -> ${target}`);
    }
  }
  return bad.sort();
}

Deno.test("imports run one way: web ← cluster → agent api → agent → routing, binding", async () => {
  assert.deepEqual(await layoutViolations(), []);
});

Deno.test("roomOf() and importsOf() resolve paths as the rule reads them", () => {
  assert.equal(roomOf("dataplane/agent/api.ts"), "dataplane/agent/api");
  assert.equal(roomOf("dataplane/agent/adapters/app.ts"), "dataplane/agent");
  assert.equal(roomOf("cluster/ops/deploy.ts"), "cluster");
  assert.deepEqual(
    importsOf(
      "cluster/ops/deploy.ts",
      'import { x } from "../spec/plan.ts";\nimport "../../web/a.ts";',
    ),
    ["cluster/spec/plan.ts", "web/a.ts"],
  );
});

Deno.test("cluster/ keeps at most a dozen files at its top", async () => {
  const top = (await Array.fromAsync(Deno.readDir(`${ROOT}cluster`))).filter((e) => e.isFile);
  assert.ok(top.length <= 12, top.map((e) => e.name).join(", "));
});
