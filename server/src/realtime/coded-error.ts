import type { ErrorCode } from '@vigil-enforcer/client/protocol'

/**
 * A socket.io handshake refusal: clients read `err.data.code` in `connect_error` and branch on
 * it (refresh and retry on `token_expired`, give up on `revoked`).
 */
export function handshakeError(
  code: ErrorCode,
  message: string,
): Error & { data: { code: ErrorCode } } {
  return Object.assign(new Error(message), { data: { code } })
}

/** The ack body of a refused message: `{ error: { code, message } }`. */
export function ackError(code: ErrorCode, message: string) {
  return { error: { code, message } }
}
