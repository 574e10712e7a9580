import assert from "node:assert/strict";
import { type DataPlaneConfig, serviceKey, validateConfig } from "./config.ts";

const good = (): DataPlaneConfig => ({
  localAddresses: ["10.0.0.100", "10.0.0.101"],
  services: [{
    vip: "192.0.2.10",
    port: 80,
    protocol: "tcp",
    scheduler: "wrr",
    reals: [{ address: "10.0.0.11", port: 8080, weight: 2 }, {
      address: "10.0.0.12",
      port: 8080,
      weight: 0,
    }],
    timeouts: { tcpEstablished: 900 },
  }, { vip: "192.0.2.10", port: 80, protocol: "udp", scheduler: "mh", reals: [] }],
});

Deno.test("validateConfig() accepts a valid snapshot, weight 0 and an empty real list included", () => {
  validateConfig(good());
  validateConfig({ services: [], localAddresses: [] });
});

Deno.test("serviceKey() is vip:port/protocol", () => {
  assert.equal(serviceKey({ vip: "192.0.2.10", port: 80, protocol: "tcp" }), "192.0.2.10:80/tcp");
});

Deno.test("validateConfig() names the service and value it rejects", () => {
  const cases: [string, (c: DataPlaneConfig) => void, RegExp][] = [
    [
      "bad VIP",
      (c) => (c.services[0]!.vip = "192.0.2"),
      /service 192\.0\.2:80\/tcp: "192\.0\.2" is not/,
    ],
    ["port 0", (c) => (c.services[0]!.port = 0), /port: 0 is outside 1\.\.65535/],
    [
      "scheduler",
      (c) => (c.services[0]!.scheduler = "lc" as never),
      /scheduler "lc" is not one of rr/,
    ],
    ["protocol", (c) => (c.services[0]!.protocol = "sctp" as never), /protocol must be tcp or udp/],
    [
      "duplicate service",
      (c) => (c.services[1]!.protocol = "tcp"),
      /192\.0\.2\.10:80\/tcp: listed twice/,
    ],
    [
      "weight",
      (c) => (c.services[0]!.reals[0]!.weight = -1),
      /10\.0\.0\.11:8080 of 192\.0\.2\.10:80\/tcp weight/,
    ],
    [
      "duplicate real",
      (
        c,
      ) => (c.services[0]!.reals[1]!.weight = 1,
        c.services[0]!.reals.push(c.services[0]!.reals[0]!)),
      /10\.0\.0\.11:8080 of .* listed twice/,
    ],
    [
      "duplicate LIP",
      (c) => c.localAddresses.push("10.0.0.100"),
      /local address 10\.0\.0\.100: listed twice/,
    ],
    ["no LIP", (c) => (c.localAddresses = []), /without local addresses/],
    ["timeout", (c) => (c.services[0]!.timeouts = { tcpFinWait: 0 }), /timeout tcpFinWait: 0/],
  ];
  for (const [name, mutate, message] of cases) {
    const c = good();
    mutate(c);
    assert.throws(() => validateConfig(c), message, name);
  }
});
