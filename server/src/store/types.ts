import type { JWK } from 'jose'
import type { ChangeRejection } from '../policy/changes.js'
import type { Change, Policy } from '../policy/schema.js'

/** One entry of the change log: the change, the version it produced and when it was written. */
export interface LogEntry {
  version: number
  change: Change
  /** Milliseconds since epoch, taken when the store wrote the change. */
  at: number
  /** Who made the change (an API key id or an admin subject), for the audit log. */
  actor?: string
}

/**
 * What `tail` yields: every change in version order, or — when the log no longer holds the
 * versions the reader missed (trimmed, or the store was reset) — the whole current document.
 */
export type TailEvent =
  | { kind: 'change'; entry: LogEntry }
  | { kind: 'resync'; version: number; policy: Policy; at: number }

export interface Snapshot {
  policy: Policy
  version: number
}

export interface ApplyOptions {
  /** Apply only if the current version is exactly this one; otherwise `conflict`. */
  ifVersion?: number
  actor?: string
}

export type ApplyResult =
  | { ok: true; version: number; previousVersion: number; at: number; policy: Policy }
  | { ok: false; code: 'conflict'; message: string; version: number }
  | ChangeRejection

export interface TailOptions {
  signal?: AbortSignal
  /** Called whenever the store answered the tailing reader, even with nothing new. */
  onContact?: (atMs: number) => void
}

export type SigningAlg = 'EdDSA' | 'ES256'

/** A signing key as kept in the store. The private half never leaves the store and the key ring. */
export interface StoredKey {
  kid: string
  alg: SigningAlg
  publicJwk: JWK
  privateJwk: JWK
  /** Milliseconds since epoch. */
  createdAt: number
  /** When set: the key stops verifying and leaves JWKS at this time (ms since epoch). */
  retireAt?: number
}

/** A refresh token's record; the token itself is never stored, only its hash. */
export interface RefreshRecord {
  family: string
  sub: string
  sid: string
  /** When this token was issued, epoch seconds: `issued_before` revocations apply to it too. */
  iat: number
  /** Milliseconds since epoch. */
  exp: number
  /** Custom claims given at session creation, carried into every access token of the session. */
  claims?: Record<string, unknown>
}

export type RotateRefreshResult =
  | { ok: true; previous: RefreshRecord; next: RefreshRecord }
  | { ok: false; reason: 'unknown' | 'expired' | 'family_revoked'; record?: RefreshRecord }
  /** A spent token was presented again: the store has already revoked its whole family. */
  | { ok: false; reason: 'reused'; record: RefreshRecord }

/** One live session (one `sid` on one node) in the cross-node directory. */
export interface LiveSessionInfo {
  sid: string
  sub: string
  node: string
  roles: string[]
  /** Milliseconds since epoch. */
  connectedAt: number
  lastDecisionAt?: number
  /** Connections (tabs) of this session on that node. */
  sockets: number
}

/**
 * The one central place: the policy document with its version and change log, the signing key
 * ring and the refresh-token families. `RedisStore` and `MemoryStore` implement it and pass the same
 * contract suite (`server/test/store/contract.ts`).
 */
export interface PolicyStore {
  readonly kind: 'redis' | 'memory'
  load(): Promise<Snapshot>
  /** The current version only: one cheap read, for strong consistency. */
  version(): Promise<number>
  /** Validates and applies a change atomically: next version, new document, appended log entry. */
  apply(change: Change, options?: ApplyOptions): Promise<ApplyResult>
  /** Every change after `fromVersion`, in order, forever (until the signal aborts). */
  tail(fromVersion: number, options?: TailOptions): AsyncIterable<TailEvent>
  /**
   * The log entries with `fromVersion < version <= toVersion`, in order — or `null` when the log
   * no longer reaches back that far (trimmed, or the store was reset).
   */
  readLog(fromVersion: number, toVersion: number): Promise<LogEntry[] | null>

  listKeys(): Promise<StoredKey[]>
  currentKid(): Promise<string | null>
  /** Adds `key` as the signer only if there is none yet; false when another node won the race. */
  initKey(key: StoredKey): Promise<boolean>
  /** Adds `key` as the signer and schedules the previous signer's retirement, atomically. */
  rotateKey(key: StoredKey, previousRetireAt: number): Promise<void>
  /** Deletes keys whose retirement time has passed. */
  pruneKeys(nowMs: number): Promise<void>

  saveRefresh(hash: string, record: RefreshRecord): Promise<void>
  getRefresh(hash: string): Promise<RefreshRecord | null>
  /**
   * Spends `oldHash` and stores `newHash` in the same family with expiry `newExp` (ms) and
   * `iat` = `nowMs` in seconds, atomically.
   * Presenting a spent token revokes the family (RFC 9700 §4.14.2).
   */
  rotateRefresh(
    oldHash: string,
    newHash: string,
    nowMs: number,
    newExp: number,
  ): Promise<RotateRefreshResult>
  revokeFamily(family: string): Promise<void>

  /** Publishes (or updates) a live session of `node`; the node's entries expire after `ttlMs`. */
  putLiveSessions(node: string, sessions: LiveSessionInfo[], ttlMs: number): Promise<void>
  dropLiveSession(node: string, sid: string): Promise<void>
  /** Keeps a node's entries alive; a node that stops touching disappears after `ttlMs`. */
  touchNode(node: string, ttlMs: number): Promise<void>
  /** Live sessions of every node that is still alive. */
  listLiveSessions(): Promise<LiveSessionInfo[]>

  close(): Promise<void>
}
