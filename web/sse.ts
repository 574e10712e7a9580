/**
 * Server-sent events: framing (pure) and a pull-driven stream that produces one event per tick
 * for as long as the client listens.
 *
 * @example
 * ```ts
 * formatSse({ id: "7", event: "fleet", data: '{"a":1}' });
 * // "id: 7\nevent: fleet\ndata: {\"a\":1}\n\n"
 * ```
 *
 * @module
 */

/** One event. */
export interface SseMessage {
  id?: string;
  event?: string;
  /** Payload; every line becomes its own `data:` line. */
  data: string;
  /** Reconnection delay the client should use, milliseconds. */
  retry?: number;
}

function field(name: string, value: string): string {
  if (/[\r\n]/.test(value)) {
    throw new SyntaxError(
      `Cannot send an SSE ${name} field containing a line break: ${JSON.stringify(value)}`,
    );
  }
  return `${name}: ${value}\n`;
}

/** Frames one event: optional `retry:`, `id:`, `event:`, then `data:` lines and a blank line. */
export function formatSse(m: SseMessage): string {
  let out = "";
  if (m.retry !== undefined) out += field("retry", String(Math.max(0, Math.floor(m.retry))));
  if (m.id !== undefined) out += field("id", m.id);
  if (m.event !== undefined) out += field("event", m.event);
  for (const line of m.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + "\n";
}

/** Sleeps, or resolves early when the signal aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Real timer-based {@link Sleep}. */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const id = setTimeout(done, ms);
    function done() {
      clearTimeout(id);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Options of {@link sseStream}. */
export interface SseStreamOptions {
  /** Produces the next event; called once immediately, then once per interval. */
  next: () => Promise<SseMessage>;
  intervalMs: number;
  sleep: Sleep;
  /** Ends the stream (the request's signal: the client went away). */
  signal?: AbortSignal;
  /** Sent first (e.g. a `retry:` hint). */
  preamble?: string;
}

/**
 * A byte stream of events: the first event at once, then one per interval. Pull-driven, so a slow
 * client slows the producer instead of queueing; ends when cancelled or the signal aborts.
 */
export function sseStream(o: SseStreamOptions): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let first = true;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (o.preamble) controller.enqueue(enc.encode(o.preamble));
    },
    async pull(controller) {
      if (!first) await o.sleep(o.intervalMs, stop.signal);
      first = false;
      if (stop.signal.aborted) {
        o.signal?.removeEventListener("abort", onAbort);
        controller.close();
        return;
      }
      controller.enqueue(enc.encode(formatSse(await o.next())));
    },
    cancel() {
      stop.abort();
      o.signal?.removeEventListener("abort", onAbort);
    },
  }, { highWaterMark: 0 });
}
