/**
 * Serves a Hono app on a Unix socket that only root can open: the socket's directory is
 * 0700 and the socket 0600, so the agent never listens on the network and lvsctl reaches it
 * through SSH stream-local forwarding as root.
 *
 * @module
 */

/** A running socket server. */
export interface SocketServer {
  path: string;
  shutdown(): Promise<void>;
}

/**
 * Listens on `path` (a stale socket left by a crashed agent is replaced; any other file there
 * is an error).
 */
export async function serveOnSocket(
  path: string,
  handler: (req: Request) => Response | Promise<Response>,
): Promise<SocketServer> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dir, 0o700);
  try {
    const st = await Deno.lstat(path);
    if (!st.isSocket) throw new Error(`Cannot serve on ${path}: a non-socket file is in the way`);
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const ac = new AbortController();
  const server = Deno.serve(
    { path, transport: "unix", signal: ac.signal, onListen: () => {} },
    (req) => handler(req),
  );
  await Deno.chmod(path, 0o600);
  return {
    path,
    async shutdown() {
      ac.abort();
      await server.finished;
      await Deno.remove(path).catch(() => {});
    },
  };
}
