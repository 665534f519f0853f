/**
 * `createVigilClient`: one live session in an app — tokens kept fresh, requests and socket
 * messages guarded, and a teardown that stops everything the moment the session is revoked.
 *
 * @module
 */
import type { Socket } from 'socket.io-client'
import { compileCapabilities } from './capabilities.js'
import {
  createEmitter,
  type TeardownEvent,
  type TeardownReason,
  type VigilEventName,
  type VigilHandler,
} from './events.js'
import { createGuardedFetch, type VigilRequestInit } from './guarded-fetch.js'
import { readClaims } from './jwt.js'
import { resolveOptions, type VigilClientOptions } from './options.js'
import { VigilError, type Capabilities, type RevokedEvent } from './protocol.js'
import { createRealtime } from './realtime.js'
import { openTabChannel, type TabChannel, type TabMessage } from './tab-channel.js'
import { createTokenKeeper } from './token-keeper.js'
import { watchWake } from './wake.js'

/** A live Vigil session. Created by {@link createVigilClient}. */
export interface VigilClient {
  /** Subscribes to a typed event; returns the function that unsubscribes. */
  on<E extends VigilEventName>(event: E, handler: VigilHandler<E>): () => void
  off<E extends VigilEventName>(event: E, handler: VigilHandler<E>): void
  /** True when the last pushed capabilities allow `action` on `resource` (false until then). */
  can(action: string, resource: string): boolean
  /** `fetch` with the access token; see {@link VigilRequestInit} for `permission`. */
  fetch(input: RequestInfo | URL, init?: VigilRequestInit): Promise<Response>
  /** Emits over the enforced socket; resolves with the ack, rejects with a coded `VigilError`. */
  emit(event: string, payload?: unknown): Promise<unknown>
  /** A valid access token for the app's other HTTP clients (renewed first when stale). */
  accessToken(): Promise<string>
  /** Registers app cleanup run once on teardown (at once if already torn down). */
  onTeardown(hook: (event: TeardownEvent) => void | Promise<void>): () => void
  /** Aborted on teardown, with the teardown's `VigilError` as its reason. */
  readonly signal: AbortSignal
  /** The underlying socket.io socket, for the app's own listeners. */
  readonly socket: Socket
  /** The capabilities last pushed by the enforcer, or null before the first push. */
  readonly capabilities: Capabilities | null
  /** `active` until teardown, then why it stopped. */
  readonly state: 'active' | TeardownReason
  /** Stops the client: aborts its work, closes the socket. Keeps a stored session for a reload. */
  close(): void
}

/**
 * Starts a Vigil client: connects the enforced socket and keeps the session's tokens fresh.
 *
 * Decisions where the wire contract is silent: tokens live in memory unless `storage` is given
 * (key `vigil:session`); tabs of one session talk over the BroadcastChannel `vigil:<session_id>`
 * and renew under the Web Lock `vigil:refresh:<session_id>` — share a session between tabs
 * through `localStorage`, so a waiting tab always finds the newest refresh token; `close()` is
 * not a sign-out (the stored session stays); every call after a teardown rejects with code
 * `revoked`, `token_expired` (session over) or `closed`.
 *
 * @throws TypeError on bad options; `VigilError` `token_missing` when there is no session.
 * @example
 * ```ts
 * const vigil = createVigilClient({ url: 'https://vigil.example', session, storage: localStorage })
 * vigil.onTeardown(() => router.push('/sign-in'))
 * const res = await vigil.fetch('/api/docs/42', { method: 'PUT', body, permission: 'doc:write' })
 * ```
 */
export function createVigilClient(input: VigilClientOptions): VigilClient {
  const options = resolveOptions(input)
  const life = new AbortController()
  const emitter = createEmitter((event, err) => {
    if (event === 'error') return options.debug('vigil: an error handler threw', { err })
    emitter.emit('error', new VigilError('internal', `a ${event} handler threw`, { cause: err }))
  })
  const hooks = new Set<(event: TeardownEvent) => void | Promise<void>>()
  let state: 'active' | TeardownReason = 'active'
  let ended: TeardownEvent | null = null
  let capabilities: Capabilities | null = null
  let can = compileCapabilities(null)
  let tabs: TabChannel | null = null

  const keeper = createTokenKeeper({
    options,
    signal: life.signal,
    onRenewed(tokens, trigger) {
      openTabs()
      realtime.handOver(tokens)
      realtime.revive()
      if (trigger !== 'peer') tabs?.post({ type: 'tokens', tokens })
      emitter.emit('refresh', { exp: readClaims(tokens.access).exp, trigger })
    },
    onSessionOver(cause) {
      // A refresh refused because the session was revoked (or its refresh token replayed) is a
      // revocation that reached this client through the token endpoint, not an expiry.
      const reason = (cause.details as { reason?: string } | undefined)?.reason
      if (reason === 'revoked' || reason === 'reused' || reason === 'family_revoked') {
        const revoked = { reason: `refresh refused (${reason})`, version, at: Date.now() }
        teardown('revoked', { revoked, cause })
      } else teardown('expired', { cause })
    },
    onError: (error) => emitter.emit('error', error),
  })
  const guarded = createGuardedFetch({
    keeper,
    signal: life.signal,
    fetch: options.fetch,
    origins: options.origins,
  })
  // The policy version of the last push, reported with a revocation learnt at refresh time.
  let version = 0
  const setCapabilities = (next: Capabilities, atVersion: number): void => {
    version = atVersion
    capabilities = next
    can = compileCapabilities(next)
  }
  const realtime = createRealtime({
    options,
    keeper,
    signal: life.signal,
    on: {
      capabilities(e) {
        setCapabilities(e.capabilities, e.version)
        emitter.emit('capabilities', e)
      },
      stepDown(e) {
        setCapabilities(e.capabilities, e.version)
        const aborted = guarded.stepDown(e.removed, can)
        options.debug('vigil: step-down', { version: e.version, aborted })
        emitter.emit('step-down', e)
      },
      stepUp(e) {
        setCapabilities(e.capabilities, e.version)
        emitter.emit('step-up', e)
      },
      revoked: (event) => teardown('revoked', { revoked: event }),
      error: (error) => emitter.emit('error', error),
    },
  })
  const stopWake = watchWake(() => {
    keeper.reschedule()
    keeper.current('wake').then(realtime.revive, () => {})
  })

  function openTabs(): void {
    const sid = keeper.held()?.sessionId
    if (tabs || !options.broadcast || sid === undefined || state !== 'active') return
    tabs = openTabChannel(sid, onTabMessage)
  }

  function onTabMessage(message: TabMessage): void {
    if (message.type === 'tokens') keeper.adopt(message.tokens)
    else if (message.type === 'revoked') teardown('revoked', { revoked: message.event, peer: true })
    else if (message.type === 'expired') {
      teardown('expired', { cause: new VigilError('invalid_grant', message.message), peer: true })
    }
  }

  function teardown(
    reason: TeardownReason,
    why: { revoked?: RevokedEvent; cause?: VigilError; peer?: boolean },
  ): void {
    if (state !== 'active') return
    state = reason
    const error =
      reason === 'revoked'
        ? new VigilError('revoked', `the session was revoked (${why.revoked?.reason ?? 'revoked'})`)
        : reason === 'expired'
          ? new VigilError('token_expired', 'the session is over: it could not be renewed', {
              cause: why.cause,
            })
          : new VigilError('closed', 'the Vigil client was closed')
    ended = { reason, error }
    options.debug('vigil: teardown', { reason })
    life.abort(error)
    guarded.abortAll(error)
    realtime.close()
    stopWake()
    capabilities = null
    can = compileCapabilities(null)
    // A closed client leaves the session usable (a reload resumes it); a dead one is forgotten.
    if (reason !== 'closed') keeper.wipe()
    // Before the hooks: a hook that navigates away must not keep the other tabs alive.
    if (!why.peer && reason === 'revoked' && why.revoked) {
      tabs?.post({ type: 'revoked', event: why.revoked })
    } else if (!why.peer && reason === 'expired') {
      tabs?.post({ type: 'expired', message: why.cause?.message ?? 'expired' })
    }
    tabs?.close()
    for (const hook of hooks) runHook(hook, ended)
    if (reason === 'revoked' && why.revoked) emitter.emit('revoked', why.revoked)
    if (reason === 'expired') emitter.emit('expired', { error: why.cause ?? error })
    emitter.emit('teardown', ended)
  }

  function runHook(hook: (event: TeardownEvent) => void | Promise<void>, event: TeardownEvent) {
    try {
      void Promise.resolve(hook(event)).catch((err: unknown) =>
        options.debug('vigil: a teardown hook failed', { err }),
      )
    } catch (err) {
      options.debug('vigil: a teardown hook failed', { err })
    }
  }

  const rejectIfEnded = (): Promise<never> | null =>
    life.signal.aborted ? Promise.reject(life.signal.reason as VigilError) : null

  openTabs()
  if (options.socket.autoConnect !== false) realtime.start()

  return {
    on: emitter.on,
    off: emitter.off,
    can: (action, resource) => state === 'active' && can(action, resource),
    fetch: (request, init) => rejectIfEnded() ?? guarded.fetch(request, init),
    emit: (event, payload) => rejectIfEnded() ?? realtime.emit(event, payload),
    accessToken: () => rejectIfEnded() ?? keeper.current('wake'),
    onTeardown(hook) {
      if (typeof hook !== 'function')
        throw new TypeError('vigil.onTeardown: hook must be a function')
      if (ended) {
        const event = ended
        queueMicrotask(() => runHook(hook, event))
        return () => {}
      }
      hooks.add(hook)
      return () => void hooks.delete(hook)
    },
    signal: life.signal,
    socket: realtime.socket,
    get capabilities() {
      return capabilities
    },
    get state() {
      return state
    },
    close: () => teardown('closed', {}),
  }
}
