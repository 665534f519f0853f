/**
 * The enforced socket: a handshake that always presents a fresh token, renewed tokens handed
 * over in place with `vigil:refresh` (so a session outlives many token lifetimes on one
 * connection), the server's `vigil:*` pushes, and `emit` with coded refusals.
 *
 * @module
 * @internal
 */
import { io, type Socket } from 'socket.io-client'
import type { HeldTokens } from './held-tokens.js'
import { readClaims } from './jwt.js'
import type { ResolvedOptions } from './options.js'
import {
  EVENTS,
  isErrorCode,
  VigilError,
  type CapabilitiesEvent,
  type ErrorBody,
  type ExpiringEvent,
  type RefreshAck,
  type RevokedEvent,
  type StepDownEvent,
  type StepUpEvent,
} from './protocol.js'
import { later } from './timers.js'
import type { TokenKeeper } from './token-keeper.js'

/** What the socket tells the client. */
export interface RealtimeHandlers {
  capabilities(event: CapabilitiesEvent): void
  stepDown(event: StepDownEvent): void
  stepUp(event: StepUpEvent): void
  revoked(event: RevokedEvent): void
  error(error: VigilError): void
}

export interface Realtime {
  socket: Socket
  /** Hands a renewed access token to the live connection. */
  handOver(tokens: HeldTokens): void
  /** Opens the connection (left to the app when `socket.autoConnect` is false). */
  start(): void
  /** Reconnects a socket that stopped trying (refused handshake, server disconnect). */
  revive(): void
  emit(event: string, payload?: unknown): Promise<unknown>
  close(): void
}

const HANDOVER_TIMEOUT_MS = 10_000
const MAX_BACKOFF_MS = 30_000
/** Handshake refusals that retrying cannot fix. */
const FINAL_CODES = new Set(['origin_forbidden', 'forbidden', 'invalid_request'])
const TOKEN_CODES = new Set(['token_expired', 'token_invalid', 'token_missing'])

/**
 * Creates the socket (not yet connected unless `socket.autoConnect` is left on by the caller).
 *
 * @example
 * ```ts
 * const realtime = createRealtime({ options, keeper, signal, on })
 * await realtime.emit('doc:edit', { docId: '42', text })
 * ```
 */
export function createRealtime(deps: {
  options: ResolvedOptions
  keeper: TokenKeeper
  signal: AbortSignal
  on: RealtimeHandlers
}): Realtime {
  const { options, keeper, signal, on } = deps
  const retry = later()
  let failures = 0
  // Set once the socket was meant to be up: a client told not to connect stays unconnected.
  let started = false
  const socket = io(new URL(options.url).origin, {
    forceNew: true,
    ...options.socket,
    autoConnect: false,
    // A function, so every (re)connect presents the current token — renewed first if it went
    // stale while the machine slept or the network was gone — and never a replayed old one.
    auth: (send) => {
      keeper.current('reconnect').then(
        (token) => send({ token }),
        () => {
          // Torn down: the socket is closing. Otherwise the renewal failed for now; the
          // refusal of an empty handshake brings this socket back through the retry below.
          if (!signal.aborted) send({})
        },
      )
    },
  })

  const reconnectLater = (): void => {
    if (!started || signal.aborted || socket.connected || socket.active) return
    const delay = failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failures - 1))
    retry.set(delay, () => {
      if (!signal.aborted && !socket.connected && !socket.active) socket.connect()
    })
  }

  socket.on('connect', () => {
    started = true
    failures = 0
    options.debug('vigil: socket connected')
  })
  socket.on('disconnect', (reason) => {
    options.debug('vigil: socket disconnected', { reason })
    // The server closed it (token expired without renewal, flood, node shutdown): socket.io
    // does not come back on its own from that, the client does — with a fresh token.
    if (reason === 'io server disconnect') reconnectLater()
  })
  socket.on('connect_error', (err: Error & { data?: { code?: unknown } }) => {
    if (signal.aborted) return
    started = true
    const code = err.data?.code
    if (code === 'revoked') return on.revoked({ reason: err.message, version: 0, at: Date.now() })
    // A transport failure: socket.io retries with its own backoff, through `auth` again.
    if (socket.active) return
    failures += 1
    const error = new VigilError(isErrorCode(code) ? code : 'internal', err.message)
    on.error(error)
    if (FINAL_CODES.has(error.code)) return
    if (TOKEN_CODES.has(error.code)) {
      // The server's clock says the token is over even if ours does not: renew regardless.
      keeper.refresh('reconnect').then(reconnectLater, () => {})
      return
    }
    reconnectLater()
  })

  socket.on(EVENTS.capabilities, (e: CapabilitiesEvent) => on.capabilities(e))
  socket.on(EVENTS.stepDown, (e: StepDownEvent) => on.stepDown(e))
  socket.on(EVENTS.stepUp, (e: StepUpEvent) => on.stepUp(e))
  socket.on(EVENTS.revoked, (e: RevokedEvent) => on.revoked(e))
  socket.on(EVENTS.expiring, (e: ExpiringEvent) => {
    const held = keeper.held()
    const mine = held ? readClaims(held.access).exp : undefined
    // Already renewed, but the server still counts down the old token: the hand-over was lost.
    if (held && mine !== undefined && mine > e.exp) return handOver(held)
    keeper.refresh('expiring').catch(() => {})
  })
  socket.on(EVENTS.expired, () => {
    keeper.refresh('expired').catch(() => {})
  })

  function handOver(tokens: HeldTokens): void {
    if (!socket.connected || signal.aborted) return
    socket
      .timeout(HANDOVER_TIMEOUT_MS)
      .emit(EVENTS.refresh, { token: tokens.access }, (err: Error | null, ack: RefreshAck) => {
        // Disconnected meanwhile: the next handshake presents the new token anyway.
        if (err || signal.aborted || !ack || !('error' in ack)) return
        const { code, message } = ack.error
        if (code === 'revoked') on.revoked({ reason: message, version: 0, at: Date.now() })
        else on.error(new VigilError(code, `vigil:refresh refused: ${message}`))
      })
  }

  async function emit(event: string, payload?: unknown): Promise<unknown> {
    if (signal.aborted) throw signal.reason
    if (typeof event !== 'string' || event === '' || event.startsWith('vigil:')) {
      throw new TypeError('vigil.emit: event must be an app event name (vigil:* is reserved)')
    }
    let ack: unknown
    try {
      ack = await untilAborted(
        socket.timeout(options.emitTimeoutMs).emitWithAck(event, payload),
        signal,
      )
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw new VigilError('closed', `no answer to ${event} within ${options.emitTimeoutMs} ms`, {
        cause: err,
      })
    }
    const error = (ack as Partial<ErrorBody> | null)?.error
    if (error && typeof error === 'object' && isErrorCode(error.code)) {
      throw new VigilError(error.code, String(error.message ?? error.code), {
        details: error.details,
      })
    }
    return ack
  }

  return {
    socket,
    handOver,
    start() {
      started = true
      socket.connect()
    },
    revive: reconnectLater,
    emit,
    close() {
      retry.cancel()
      socket.disconnect()
    },
  }
}

/** Settles with `promise`, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
