/**
 * How lvsctl reaches a node: the agent's control API (see `agent_api.ts`), file upload and a
 * command runner. The production implementation is SSH (`ssh_transport.ts`); tests use a
 * recording fake. Every method rejects with a {@linkcode TransportError} naming the node.
 *
 * @module
 */

/** Where and how to reach one node. */
export interface NodeEndpoint {
  /** The node's name in the cluster file. */
  name: string;
  host: string;
  port: number;
  user: string;
  /** Path of the private key (keys only, no passwords). */
  keyFile: string;
  /** The pinned host key, `ssh-ed25519 AAAA...` (type and base64), or absent with `knownHosts`. */
  hostKey?: string;
  /** A known_hosts file to check the host key against when `hostKey` is absent. */
  knownHosts?: string;
  /** The agent's control socket on the node. */
  agentSocket: string;
}

/** One HTTP answer from a node's agent. */
export interface AgentReply {
  status: number;
  body: unknown;
}

/** A command's outcome on a node. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Per-call limits. */
export interface CallOptions {
  /** Deadline for the whole call in milliseconds. */
  timeoutMs?: number;
  /** Extra request headers of an agent call (the rollout's lease token); ignored elsewhere. */
  headers?: Record<string, string>;
}

/** The seam between lvsctl and the fleet. */
export interface NodeTransport {
  /** Calls the agent's control API on the node: `GET /v1/status`, `POST /v1/apply`, ... */
  agent(
    node: NodeEndpoint,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    opts?: CallOptions,
  ): Promise<AgentReply>;
  /** Copies a local file to the node (atomically: written beside, then renamed). */
  upload(
    node: NodeEndpoint,
    localPath: string,
    remotePath: string,
    opts?: CallOptions,
  ): Promise<void>;
  /** Runs a command (argv, no shell interpolation of the items) on the node. */
  exec(node: NodeEndpoint, argv: string[], opts?: CallOptions): Promise<ExecResult>;
  /** Closes every open connection. */
  close(): Promise<void>;
}

/** A failure reaching a node or a refusal from it; `kind` says which. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    readonly node: string,
    readonly kind: "connect" | "hostkey" | "auth" | "timeout" | "agent" | "io",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
