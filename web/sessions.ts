/**
 * The dashboard's server-side session table. A session cookie is signed (`auth.ts`), but a
 * signature alone cannot be taken back: a cookie is only honoured while its session is in this
 * table, so logging out, or an operator revoking a session, ends it at once, also for a copy of
 * the cookie. The table lives in the dashboard's memory (a restart ends every session, as a new
 * signing key does); it holds at most `capacity` sessions, dropping expired ones first, then the
 * oldest.
 *
 * @example
 * ```ts
 * const table = new SessionTable({ clock: Date.now });
 * const s = table.add({ sid, operator: "alice", expires, remote: "10.0.0.5" });
 * table.list(); // [{ id: s.id, operator: "alice", ... }]
 * table.revoke(s.id);
 * table.touch(sid); // null: revoked
 * ```
 *
 * @module
 */

/** A session as operators see it (`id` names it; the secret `sid` never leaves the table). */
export interface SessionView {
  id: string;
  operator: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  /** Address it logged in from, when known. */
  remote: string | null;
}

/** Options of {@link SessionTable}. */
export interface SessionTableOptions {
  clock: () => number;
  /** Most sessions kept (default 256). */
  capacity?: number;
}

interface Row extends SessionView {
  sid: string;
}

function randomId(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(9)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Live sessions by their secret id; see the module. */
export class SessionTable {
  readonly capacity: number;
  readonly #clock: () => number;
  readonly #rows = new Map<string, Row>();

  constructor(options: SessionTableOptions) {
    this.#clock = options.clock;
    this.capacity = options.capacity ?? 256;
  }

  #prune(now: number): void {
    for (const [sid, r] of this.#rows) if (r.expiresAt <= now) this.#rows.delete(sid);
  }

  /** Records a new session; returns how operators see it. */
  add(s: { sid: string; operator: string; expires: number; remote?: string | null }): SessionView {
    const now = this.#clock();
    this.#prune(now);
    // The table keeps insertion order: the first row is the oldest.
    while (this.#rows.size >= this.capacity) this.#rows.delete(this.#rows.keys().next().value!);
    const row: Row = {
      sid: s.sid,
      id: randomId(),
      operator: s.operator,
      createdAt: now,
      expiresAt: s.expires,
      lastSeenAt: now,
      remote: s.remote ?? null,
    };
    this.#rows.set(s.sid, row);
    return view(row);
  }

  /** The live session with this secret id (marking it seen), or null: unknown, revoked or expired. */
  touch(sid: string): SessionView | null {
    const now = this.#clock();
    const r = this.#rows.get(sid);
    if (r === undefined) return null;
    if (r.expiresAt <= now) {
      this.#rows.delete(sid);
      return null;
    }
    r.lastSeenAt = now;
    return view(r);
  }

  /** Whether the session with this secret id is live (without marking it seen). */
  alive(sid: string): boolean {
    const r = this.#rows.get(sid);
    return r !== undefined && r.expiresAt > this.#clock();
  }

  /** Ends the session with this secret id (logout); true when there was one. */
  end(sid: string): boolean {
    return this.#rows.delete(sid);
  }

  /** Ends the session operators know as `id`; returns it, or null when there is none. */
  revoke(id: string): SessionView | null {
    for (const [sid, r] of this.#rows) {
      if (r.id === id) {
        this.#rows.delete(sid);
        return view(r);
      }
    }
    return null;
  }

  /** The id operators know the session with this secret id by, or null. */
  idOf(sid: string): string | null {
    return this.#rows.get(sid)?.id ?? null;
  }

  /** Live sessions, newest first. */
  list(): SessionView[] {
    this.#prune(this.#clock());
    return [...this.#rows.values()].reverse().map(view); // kept in the order they were added
  }
}

function view(r: Row): SessionView {
  return {
    id: r.id,
    operator: r.operator,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    lastSeenAt: r.lastSeenAt,
    remote: r.remote,
  };
}
