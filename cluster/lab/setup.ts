/**
 * One-shot machine setup: installs the Debian packages the project needs and the npm
 * dependencies from `deno.json`. Safe to run again: when everything is present it only
 * asks dpkg and returns within a second or two.
 *
 * Run through `deno task setup`; every other task depends on it.
 *
 * @module
 */
import { errorText } from "../../routing/errors.ts";

/**
 * Debian packages the data plane, the routing lab, the SSH transport, the browser tests and the
 * end-to-end benchmark (nginx real servers, wrk, the kernel's nftables FULLNAT peer, perf) use.
 */
export const DEBIAN_PACKAGES: readonly string[] = [
  "dpdk-dev",
  "libdpdk-dev",
  "pkg-config",
  "build-essential",
  "meson",
  "ninja-build",
  "bird2",
  "openssh-server",
  "openssh-client",
  "iproute2",
  "chromium",
  "tcpdump",
  "curl",
  "procps",
  "ethtool",
  "coreutils",
  "clang",
  "libclang-rt-14-dev",
  "libbpf-dev", // the XDP filter (BPF C) and libfnat's map filling
  "libxdp-dev", // the XDP filter's C test (AF_XDP socket)
  "linux-perf", // profiling the data plane benchmarks (perf record -g)
  "hping3", // the lab's SYN flood benchmark (deno task bench synflood-lab)
  "nginx", // real servers of the end-to-end benchmark (deno task bench e2e)
  "wrk", // its load generator
  "nftables", // the kernel FULLNAT peer it is compared with
];

/** The command that installs `missing` (what a non-root user is told to run). */
export function installCommand(missing: readonly string[]): string {
  return `apt-get update && apt-get install -y ${missing.join(" ")}`;
}

/**
 * Parses `dpkg-query -W -f '${Package} ${Status}\n'` output and returns the names from
 * `wanted` that are not fully installed.
 *
 * @example
 * ```ts
 * missingPackages("bird2 install ok installed\n", ["bird2", "curl"]); // ["curl"]
 * ```
 */
export function missingPackages(dpkgOutput: string, wanted: readonly string[]): string[] {
  const installed = new Set<string>();
  for (const line of dpkgOutput.split("\n")) {
    const [name, ...status] = line.trim().split(/\s+/);
    if (name && status.join(" ") === "install ok installed") installed.add(name.split(":")[0]!);
  }
  return wanted.filter((p) => !installed.has(p));
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const status = await new Deno.Command(cmd, { args, env, stdout: "inherit", stderr: "inherit" })
    .spawn().status;
  if (!status.success) {
    throw new Error(`setup: '${cmd} ${args.join(" ")}' failed with exit code ${status.code}`);
  }
}

async function queryDpkg(packages: readonly string[]): Promise<string> {
  const out = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f", "${Package} ${Status}\n", ...packages],
    stdout: "piped",
    stderr: "null",
  }).output();
  // dpkg-query exits 1 when some package is unknown; its stdout still lists the known ones.
  return new TextDecoder().decode(out.stdout);
}

async function installDebianPackages(): Promise<void> {
  const missing = missingPackages(await queryDpkg(DEBIAN_PACKAGES), DEBIAN_PACKAGES);
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      `setup: missing Debian packages: ${missing.join(" ")}\n` +
        `install them as root with: ${installCommand(missing)}`,
    );
  }
  console.log(`setup: installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-q"], env);
  await run("apt-get", ["install", "-y", "-q", ...missing], env);
  const still = missingPackages(await queryDpkg(DEBIAN_PACKAGES), DEBIAN_PACKAGES);
  if (still.length > 0) throw new Error(`setup: packages still missing: ${still.join(", ")}`);
}

async function installNpmDependencies(): Promise<void> {
  // `deno install` reads deno.json's imports and fills node_modules/; a no-op when up to date.
  await run(Deno.execPath(), ["install", "--quiet"]);
}

if (import.meta.main) {
  try {
    await installDebianPackages();
    await installNpmDependencies();
  } catch (e) {
    console.error(errorText(e));
    Deno.exit(1);
  }
}
