/**
 * The agent side of the transport conformance contract (see `transport_conformance.ts`) as a
 * plain fetch handler: real transports reach it served on a Unix socket
 * (`deno run -A cluster/transport/transport_conformance_agent.ts /path/to.sock`), a fake transport can
 * route its agent calls to {@linkcode conformanceAgent} directly.
 *
 * | method | path | answer |
 * | --- | --- | --- |
 * | GET | /v1/status | 200 `{ version: "conformance-1", drained: false, pid }` |
 * | POST | /v1/echo | 200 `{ echo: <the JSON body> }` |
 * | GET | /v1/headers | 200 `{ headers: { <lower-case name>: value, ... } }`, the request's headers |
 * | GET | /v1/chunked | 503, a chunked JSON body `{ parts: ["part-0", ..., "part-49"] }` |
 * | POST | /v1/hang | never answers (deadline tests) |
 * | anything else | | 404 `{ error }` |
 *
 * @module
 */

/** Answers one request of the conformance contract. */
export async function conformanceAgent(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case "GET /v1/status":
      return Response.json({ version: "conformance-1", drained: false, pid: Deno.pid });
    case "POST /v1/echo":
      try {
        return Response.json({ echo: await req.json() });
      } catch (e) {
        return Response.json({ error: `Bad JSON body: ${e}` }, { status: 400 });
      }
    case "GET /v1/headers":
      return Response.json({ headers: Object.fromEntries(req.headers) });
    case "GET /v1/chunked": {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(enc.encode('{"parts":['));
          for (let i = 0; i < 50; i++) {
            c.enqueue(enc.encode((i ? "," : "") + JSON.stringify(`part-${i}`)));
            await new Promise((r) => setTimeout(r, 1));
          }
          c.enqueue(enc.encode("]}"));
          c.close();
        },
      });
      return new Response(body, { status: 503, headers: { "content-type": "application/json" } });
    }
    case "POST /v1/hang":
      await req.arrayBuffer();
      return await new Promise<Response>(() => {});
    default:
      return Response.json({ error: `No route for ${route}` }, { status: 404 });
  }
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (!path) {
    console.error("usage: transport_conformance_agent.ts SOCKET_PATH");
    Deno.exit(2);
  }
  Deno.serve(
    { path, onListen: () => console.log(`conformance agent on ${path}`) },
    conformanceAgent,
  );
}
