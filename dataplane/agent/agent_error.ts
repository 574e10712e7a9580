/**
 * The agent's one error class: an operation refused (400, 409) or failed (500, 503), with the
 * HTTP status the control API answers it with.
 *
 * @module
 */

/** Raised when an agent operation is refused or fails; `status` maps to HTTP. */
export class AgentError extends Error {
  override name = "AgentError";
  constructor(message: string, readonly status: 400 | 409 | 500 | 503, options?: ErrorOptions) {
    super(message, options);
  }
}
