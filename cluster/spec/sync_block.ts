/**
 * The cluster file's `sync:` block: session sync between the nodes (connection continuity). Sync
 * is on when the block exists. The cluster secret is given inline (`secret`, 32 hex digits) or,
 * in production, as a file only root can read (`secretFile`); the parser never reads files
 * itself: it asks the reader it is given (`loadClusterFile` passes one that reads from disk).
 *
 * ```yaml
 * sync:
 *   secretFile: /etc/lvsctl/sync.key # 32 hex digits (128 bits); or secret: <32 hex digits>
 *   port: 1000 # UDP port of the sync datagrams, 1..1023 (default 1000)
 *   refreshSeconds: 10 # every live session is announced again this often, 1..3600 (default 10)
 * ```
 *
 * @module
 */
import type { YAMLMap } from "yaml";
import type { Reader } from "./_yaml_reader.ts";
import { errorText } from "../../routing/errors.ts";

/** Session sync settings shared by every node. */
export interface SyncSpec {
  /** The cluster secret: 32 lower-case hex digits (read from `secretFile` when that is given). */
  secret: string;
  /** Where the secret was read from, when it came from a file. */
  secretFile?: string;
  /** UDP port of the sync datagrams (1..1023). */
  port: number;
  /** Every live session is announced again this often (seconds). */
  refreshSeconds: number;
}

/** Reads a `secretFile` and returns its text; throws (with the OS's reason) when it cannot. */
export type SecretFileReader = (path: string) => string;

/** Defaults of the `sync:` block. */
export const SYNC_DEFAULTS = { port: 1000, refreshSeconds: 10 } as const;

/** The most peers a data plane syncs with (`FNAT_MAX_PEERS`): a cluster has one node more. */
export const MAX_SYNC_NODES = 33;

/**
 * What is wrong with a secret, in words that never repeat it (it is a key); null when it is 32
 * hex digits. Surrounding white space (a file's final newline) is allowed.
 *
 * @example
 * ```ts
 * secretProblem("00112233445566778899aabbccddeeff\n"); // null
 * secretProblem("xyz"); // "3 characters, not 32 hex digits"
 * ```
 */
export function secretProblem(text: string): string | null {
  const s = text.trim();
  if (/^[0-9a-fA-F]{32}$/.test(s)) return null;
  if (s.length === 0) return "it is empty, not 32 hex digits";
  if (s.length !== 32) return `${s.length} characters, not 32 hex digits`;
  return "32 characters, but not all hex digits";
}

/**
 * Reads the `sync:` block of the file's top-level map, or undefined (sync off) when there is none.
 * Problems are recorded on `r` with the position of the value at fault.
 */
export function readSyncBlock(
  r: Reader,
  top: YAMLMap,
  nodeCount: number,
  readSecretFile: SecretFileReader | undefined,
): SyncSpec | undefined {
  const n = r.field(top, "sync");
  if (n === null) return undefined;
  const m = r.map(n, "sync", ["secret", "secretFile", "port", "refreshSeconds"]);
  if (!m) return undefined;
  const port = r.num(m, "port", "sync", 1, 1023, SYNC_DEFAULTS.port);
  const refreshSeconds = r.num(m, "refreshSeconds", "sync", 1, 3600, SYNC_DEFAULTS.refreshSeconds);
  const inline = r.str(m, "secret", "sync", { optional: true });
  const secretFile = r.str(m, "secretFile", "sync", { optional: true });
  if (nodeCount > MAX_SYNC_NODES) {
    r.at(n, `sync: ${nodeCount} nodes, at most ${MAX_SYNC_NODES} can sync (32 peers each)`);
  }
  let secret: string | undefined;
  if (inline !== undefined && secretFile !== undefined) {
    r.at(r.field(m, "secretFile"), 'sync: give "secret" or "secretFile", not both');
  } else if (inline !== undefined) {
    const problem = secretProblem(inline);
    if (problem) r.at(r.field(m, "secret"), `sync: "secret" must be 32 hex digits: ${problem}`);
    else secret = inline.trim().toLowerCase();
  } else if (secretFile !== undefined) {
    secret = readSecret(r, m, secretFile, readSecretFile);
  } else if (r.field(m, "secret") === null && r.field(m, "secretFile") === null) {
    r.at(n, 'sync: "secret" or "secretFile" is required (the cluster secret, 32 hex digits)');
  }
  if (secret === undefined || port === undefined || refreshSeconds === undefined) return undefined;
  return { secret, ...(secretFile !== undefined ? { secretFile } : {}), port, refreshSeconds };
}

function readSecret(
  r: Reader,
  m: YAMLMap,
  path: string,
  readSecretFile: SecretFileReader | undefined,
): string | undefined {
  const at = r.field(m, "secretFile");
  if (readSecretFile === undefined) {
    r.at(at, `sync: "secretFile" ${path} cannot be read: no secret file reader was given`);
    return undefined;
  }
  let text: string;
  try {
    text = readSecretFile(path);
  } catch (e) {
    r.at(at, `sync: cannot read "secretFile" ${path}: ${errorText(e)}`);
    return undefined;
  }
  const problem = secretProblem(text);
  if (problem) {
    r.at(at, `sync: "secretFile" ${path} must hold 32 hex digits (128 bits): ${problem}`);
    return undefined;
  }
  return text.trim().toLowerCase();
}
