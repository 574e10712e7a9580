import assert from "node:assert/strict";
import { agentEntry, restartDelay } from "./supervisor.ts";

Deno.test("restartDelay() backs off quick crashes up to 5 s and resets after a long run", () => {
  assert.equal(restartDelay(100, 50), 200);
  assert.equal(restartDelay(4000, 50), 5000);
  assert.equal(restartDelay(5000, 50), 5000);
  assert.equal(restartDelay(5000, 60_000), 100);
});

Deno.test("agentEntry() names the agent inside a release directory", () => {
  assert.equal(agentEntry("/srv/lvs/releases/2"), "/srv/lvs/releases/2/dataplane/agent/main.ts");
});
