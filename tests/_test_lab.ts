/**
 * A fresh, uniquely named lab for one integration test: a prefix `<tag>XXXX-` and a state root
 * under /tmp/lvs-lab-tests owned by this process. Labs of the same tag whose owner is gone (a
 * killed earlier run) are taken down and removed first.
 *
 * @module
 */
import { labDown } from "../cluster/lab/network.ts";
import { processAlive } from "../cluster/lab/netns.ts";

const TEST_ROOT = "/tmp/lvs-lab-tests";

export async function freshTestLab(tag: string): Promise<{ prefix: string; stateRoot: string }> {
  await Deno.mkdir(TEST_ROOT, { recursive: true });
  const ours = new RegExp(`^${tag}[0-9a-f]{4}-$`);
  for await (const e of Deno.readDir(TEST_ROOT)) {
    if (!ours.test(e.name)) continue;
    const root = `${TEST_ROOT}/${e.name}`;
    const owner = Number((await Deno.readTextFile(`${root}/owner.pid`).catch(() => "")).trim());
    if (owner > 1 && processAlive(owner)) continue;
    await labDown(e.name, root);
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  const id = crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16).padStart(4, "0");
  const prefix = `${tag}${id}-`;
  const stateRoot = `${TEST_ROOT}/${prefix}`;
  await Deno.mkdir(stateRoot);
  await Deno.writeTextFile(`${stateRoot}/owner.pid`, `${Deno.pid}\n`);
  return { prefix, stateRoot };
}
