/**
 * The options of `createVigilClient`, checked once at construction: misuse by the programmer is
 * a `TypeError` there, never a surprise later.
 *
 * @module
 */
import type { ManagerOptions, SocketOptions } from 'socket.io-client'

/** The session an app got from `POST /v1/sessions` (or its own backend, which called it). */
export interface SessionTokens {
  access_token: string
  /** Without it the client cannot renew the session itself; pass `getToken` instead. */
  refresh_token?: string
  /** Seconds the access token is valid for; read from the token's `exp` when absent. */
  expires_in?: number
  /** The session id; read from the token's `sid` claim when absent. */
  session_id?: string
}

/** The subset of the Web Storage API the client uses (`localStorage`, `sessionStorage`, …). */
export interface VigilStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

export interface VigilClientOptions {
  /** The enforcer's base URL: socket.io and `POST /v1/token` are served there. */
  url: string
  /** The tokens to start from. One of `session`, `getToken` or a `storage` holding a session. */
  session?: SessionTokens
  /**
   * The app renews tokens itself: called for the first token and whenever a fresh one is needed.
   * Reject with a `VigilError` coded `invalid_grant` to end the session.
   */
  getToken?: () => Promise<string>
  /**
   * Where the session's tokens are kept besides memory, so a reload (`sessionStorage`) or the
   * app's other tabs (`localStorage`) can resume it. Keeping a refresh token in Web Storage
   * exposes it to any script on the page: opt in knowingly. Wiped on revocation and expiry.
   * @default undefined (memory only)
   */
  storage?: VigilStorage
  /** The storage key of the session. @default 'vigil:session' */
  storageKey?: string
  /** Renew this long before the access token expires (at most half its lifetime). @default 60 */
  refreshLeadS?: number
  /**
   * Origins `vigil.fetch` may send the access token to. A request elsewhere is refused with a
   * `TypeError`, so a token never leaks to a third party.
   * @default the origin of `url` and, in a browser, the page's own origin
   */
  origins?: string[]
  /** The `fetch` to use (tests, Node without a global fetch). @default globalThis.fetch */
  fetch?: typeof fetch
  /** Extra socket.io client options; `auth` is the client's own and cannot be set. */
  socket?: Partial<ManagerOptions & SocketOptions>
  /**
   * Tell the session's other tabs about revocation and renewed tokens over a BroadcastChannel
   * named `vigil:<session_id>`. @default true where BroadcastChannel exists
   */
  broadcast?: boolean
  /** How long `emit` waits for the server's ack. @default 10000 */
  emitTimeoutMs?: number
  /** Receives the client's debug lines (no tokens in them); the SDK has no logger. */
  onDebug?: (message: string, details?: Record<string, unknown>) => void
}

/** @internal */
export interface ResolvedOptions {
  url: string
  session: SessionTokens | undefined
  getToken: (() => Promise<string>) | undefined
  storage: VigilStorage | undefined
  storageKey: string
  refreshLeadS: number
  origins: Set<string>
  fetch: typeof fetch
  socket: Partial<ManagerOptions & SocketOptions>
  broadcast: boolean
  emitTimeoutMs: number
  debug: (message: string, details?: Record<string, unknown>) => void
}

const fail = (message: string): never => {
  throw new TypeError(`createVigilClient: ${message}`)
}

/**
 * Checks and completes the options. Throws `TypeError` on misuse.
 *
 * @internal
 */
export function resolveOptions(options: VigilClientOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') fail('options are required')
  const page = (globalThis as { location?: { href?: string; origin?: string } }).location
  let base: URL
  try {
    base = new URL(options.url, page?.href)
  } catch {
    return fail('url must be the enforcer URL, e.g. https://vigil.example')
  }
  const { session, getToken, storage } = options
  if (session !== undefined && getToken !== undefined) fail('pass session or getToken, not both')
  if (session !== undefined && (typeof session?.access_token !== 'string' || !session.access_token))
    fail('session.access_token must be a non-empty string')
  if (getToken !== undefined && typeof getToken !== 'function') fail('getToken must be a function')
  if (session === undefined && getToken === undefined && storage === undefined)
    fail('pass session, getToken or a storage that holds a session')
  if (storage !== undefined && typeof storage?.getItem !== 'function')
    fail('storage must implement getItem, setItem and removeItem')
  const lead = options.refreshLeadS ?? 60
  if (!(lead >= 0)) fail('refreshLeadS must be a number of seconds >= 0')
  const timeout = options.emitTimeoutMs ?? 10_000
  if (!(timeout > 0)) fail('emitTimeoutMs must be a positive number of milliseconds')
  const fetchImpl = options.fetch ?? (globalThis.fetch as typeof fetch | undefined)
  if (typeof fetchImpl !== 'function') fail('no fetch: pass options.fetch')
  if (options.socket && 'auth' in options.socket) fail('socket.auth is managed by the client')

  const origins = new Set([base.origin])
  if (page?.origin && page.origin !== 'null') origins.add(page.origin)
  for (const o of options.origins ?? []) origins.add(new URL(o).origin)
  const debug = options.onDebug ?? (() => {})
  return {
    url: base.href.replace(/\/+$/, ''),
    session,
    getToken,
    storage,
    storageKey: options.storageKey ?? 'vigil:session',
    refreshLeadS: lead,
    origins,
    fetch: fetchImpl!.bind(globalThis),
    socket: options.socket ?? {},
    broadcast: options.broadcast ?? typeof BroadcastChannel === 'function',
    emitTimeoutMs: timeout,
    debug: (message, details) => {
      try {
        debug(message, details)
      } catch {
        // A failing debug hook must not change what the client does.
      }
    },
  }
}
