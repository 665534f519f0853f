/**
 * Keeps the session's access token valid: renews it ahead of expiry, on demand (a 401, a
 * reconnect, `vigil:expiring`), one renewal at a time, and — when tabs share the session —
 * under a Web Lock so two tabs never spend the same refresh token (a reuse would revoke the
 * whole session).
 *
 * @module
 * @internal
 */
import type { RefreshTrigger } from './events.js'
import { holdTokens, loadStored, saveStored, wipeStored, type HeldTokens } from './held-tokens.js'
import { readClaims } from './jwt.js'
import type { ResolvedOptions } from './options.js'
import { VigilError } from './protocol.js'
import { exchangeRefreshToken } from './token-endpoint.js'
import { later } from './timers.js'

export interface TokenKeeper {
  /** The tokens held now; null before a `getToken` client has its first token, and after a wipe. */
  held(): HeldTokens | null
  /** The access token, renewed first when it is (nearly) expired. Rejects with a `VigilError`. */
  current(trigger: RefreshTrigger): Promise<string>
  /** Renews now; concurrent calls share one renewal. Rejects with a `VigilError`. */
  refresh(trigger: RefreshTrigger): Promise<HeldTokens>
  /** Takes tokens a peer tab of the same session renewed; false when they are not newer. */
  adopt(tokens: HeldTokens): boolean
  /** Re-arms the renewal timer (after the machine slept, timers may be late). */
  reschedule(): void
  /** Forgets the tokens: memory, storage, timers. */
  wipe(): void
}

export interface TokenKeeperDeps {
  options: ResolvedOptions
  /** The client's teardown signal: nothing is renewed after it aborts. */
  signal: AbortSignal
  onRenewed(tokens: HeldTokens, trigger: RefreshTrigger): void
  /** The session can no longer be renewed (`invalid_grant`). Called once per failed renewal. */
  onSessionOver(error: VigilError): void
  /** A renewal failed in a way worth retrying; the keeper retries on its own. */
  onError(error: VigilError): void
}

const MAX_BACKOFF_MS = 30_000
/** The longest `Retry-After` a renewal waits out; a server asking for more is asked again then. */
const MAX_RETRY_AFTER_MS = 10 * 60_000
/** How long a tab that waited for a peer's renewal waits for the peer's tokens to arrive. */
const PEER_TOKENS_WAIT_MS = 1000

/** Where Web Locks are missing (Node 20): clients of one session in this process take turns. */
const processLocks = new Map<string, Promise<unknown>>()

/**
 * Creates the keeper. The initial tokens are the `session` option, else the stored session;
 * a `getToken` client fetches its first token on first use.
 *
 * @example
 * ```ts
 * const keeper = createTokenKeeper({ options, signal, onRenewed, onSessionOver, onError })
 * const token = await keeper.current('reconnect')
 * ```
 */
export function createTokenKeeper(deps: TokenKeeperDeps): TokenKeeper {
  const { options, signal } = deps
  // A getToken app owns its tokens: nothing is read from or written to storage for it.
  const storage = options.getToken ? undefined : options.storage
  const key = options.storageKey
  let held: HeldTokens | null = options.session
    ? holdTokens(options.session, Date.now())
    : options.getToken || !storage
      ? null
      : loadStored(storage, key)
  if (options.session && storage && held) saveStored(storage, key, held)
  if (!held && !options.getToken) {
    throw new VigilError('token_missing', 'no session: sign in, then pass session or getToken')
  }
  let inflight: Promise<HeldTokens> | null = null
  let failures = 0
  const timer = later()
  signal.addEventListener('abort', () => timer.cancel(), { once: true })

  /** The renewal lead: at most half the lifetime, so short tokens are not renewed constantly. */
  const leadMs = (h: HeldTokens): number =>
    Math.min(options.refreshLeadS * 1000, (h.lifetimeMs ?? options.refreshLeadS * 2000) / 2)
  /** Too close to expiry to present: a reconnect or request would race the clock. */
  const stale = (h: HeldTokens): boolean =>
    h.expiresAt !== undefined &&
    h.expiresAt - Date.now() < Math.min(5000, (h.lifetimeMs ?? 20_000) / 4)

  function use(next: HeldTokens): void {
    held = next
    if (storage) saveStored(storage, key, next)
    schedule()
  }

  function schedule(): void {
    if (!held?.expiresAt || signal.aborted) return timer.cancel()
    const delay = held.expiresAt - leadMs(held) - Date.now()
    timer.set(Math.max(0, delay), () => void refresh('schedule').catch(() => {}))
  }

  async function obtain(from: HeldTokens | null): Promise<HeldTokens> {
    if (options.getToken) {
      const token = await options.getToken()
      if (typeof token !== 'string' || token === '') {
        throw new VigilError('token_missing', 'getToken resolved without a token')
      }
      const next = holdTokens({ access_token: token }, Date.now())
      return { ...next, sessionId: next.sessionId ?? from?.sessionId }
    }
    if (!from?.refresh) throw new VigilError('invalid_grant', 'the session has no refresh token')
    const pair = await exchangeRefreshToken(options.fetch, options.url, from.refresh, signal)
    const next = holdTokens(pair, Date.now())
    return { ...next, sessionId: next.sessionId ?? from.sessionId }
  }

  /** Waiters for tokens a peer tab renewed (see `adopt`). */
  const peerWaiters = new Set<() => void>()
  /** Resolves when a peer tab's tokens are adopted, or after `ms` when none come. */
  function peerTokens(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timeout)
        peerWaiters.delete(done)
        resolve()
      }
      const timeout = setTimeout(done, ms)
      peerWaiters.add(done)
    })
  }

  /** Runs `fn` under this session's lock: a Web Lock across tabs, else one per process. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const sid = held?.sessionId
    if (sid === undefined) return fn()
    const holding = held
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
    if (locks) {
      const name = `vigil:refresh:${sid}`
      return locks.request(name, { ifAvailable: true }, (free) => {
        if (free) return fn()
        // Another tab holds the lock: it is renewing. Its tokens reach this tab (over the tab
        // channel, and in storage) a moment *after* it lets go — the lock is handed over faster
        // than localStorage syncs between renderers — so wait for them before deciding, or this
        // tab would spend the refresh token the other just spent and revoke the whole session.
        // The signal stops waiting for the lock when the client is torn down meanwhile.
        return locks.request(name, { signal }, async () => {
          if (held === holding) await peerTokens(PEER_TOKENS_WAIT_MS)
          return fn()
        })
      }) as Promise<T>
    }
    const before = processLocks.get(sid) ?? Promise.resolve()
    const run = before.then(fn, fn)
    const tail = run.catch(() => {})
    processLocks.set(sid, tail)
    void tail.then(() => processLocks.get(sid) === tail && processLocks.delete(sid))
    return run
  }

  function renew(trigger: RefreshTrigger): Promise<HeldTokens> {
    const startedWith = held
    return exclusive(async () => {
      if (signal.aborted) throw signal.reason
      // Another tab (or client) may have renewed while this one waited for the lock: take its
      // tokens rather than spend a refresh token that is no longer the newest — a reuse would
      // revoke the whole session.
      if (held && held !== startedWith && !stale(held)) return held
      const latest = storage ? loadStored(storage, key) : held
      const peerRenewed =
        latest !== null &&
        startedWith !== null &&
        latest.sessionId === startedWith.sessionId &&
        latest.access !== startedWith.access
      const adopted = peerRenewed && !stale(latest)
      const tokens = adopted ? latest : await obtain(peerRenewed ? latest : startedWith)
      if (signal.aborted) throw signal.reason
      failures = 0
      // Still under the lock: the next tab to take it must find these tokens in storage.
      use(tokens)
      options.debug('vigil: access token renewed', { trigger, adopted })
      deps.onRenewed(tokens, adopted ? 'peer' : trigger)
      return tokens
    })
  }

  function refresh(trigger: RefreshTrigger): Promise<HeldTokens> {
    if (signal.aborted) return Promise.reject(signal.reason)
    inflight ??= renew(trigger)
      .catch((err: unknown) => {
        if (signal.aborted) throw signal.reason
        const error =
          err instanceof VigilError
            ? err
            : new VigilError('internal', 'getToken failed', { cause: err })
        if (error.code === 'invalid_grant') {
          deps.onSessionOver(error)
        } else {
          // Transient (offline, enforcer restarting): try again with backoff, up to 30 s apart.
          failures += 1
          // A rate-limited endpoint says when to come back (`Retry-After`): not before then.
          const asked = (error.details as { retryAfterS?: number } | undefined)?.retryAfterS
          const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1))
          const delay = Math.max(backoff, Math.min(MAX_RETRY_AFTER_MS, (asked ?? 0) * 1000))
          timer.set(delay, () => void refresh(trigger).catch(() => {}))
          options.debug('vigil: renewal failed; retrying', { code: error.code, delay })
          deps.onError(error)
        }
        throw error
      })
      .finally(() => {
        inflight = null
      })
    return inflight
  }

  schedule()
  return {
    held: () => held,
    async current(trigger) {
      if (signal.aborted) throw signal.reason
      if (!inflight && held && !stale(held)) return held.access
      const before = held
      try {
        return (await (inflight ?? refresh(trigger))).access
      } catch (err) {
        // Renewal is down for now but the token still has a moment left: better used than lost.
        const usable = before && before.expiresAt !== undefined && before.expiresAt > Date.now()
        if (usable && !signal.aborted && held === before) return before.access
        throw err
      }
    },
    refresh,
    adopt(tokens) {
      if (signal.aborted || !held || tokens.sessionId !== held.sessionId) return false
      if (tokens.access === held.access) return false
      const mine = readClaims(held.access).exp ?? 0
      if ((readClaims(tokens.access).exp ?? 0) < mine) return false
      use(tokens)
      deps.onRenewed(tokens, 'peer')
      for (const wake of [...peerWaiters]) wake()
      return true
    },
    reschedule: schedule,
    wipe() {
      timer.cancel()
      if (storage) wipeStored(storage, key, held?.sessionId)
      held = null
    },
  }
}
