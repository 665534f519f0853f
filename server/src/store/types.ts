import type { JWK } from 'jose'
import type { ChangeRejection } from '../policy/changes.js'
import type { Change } from '../policy/schema.js'
import type { PolicyState } from '../policy/state.js'

/** One entry of the change log: the change, the version it produced and when it was written. */
export interface LogEntry {
  version: number
  change: Change
  /** Milliseconds since epoch, taken when the store wrote the change. */
  at: number
  /** Who made the change (an API key id or an admin subject), for the audit log. */
  actor?: string
  /** The chain: this entry's hash, and the hash of the entry before it (the epoch for the first). */
  hash: string
  prev: string
}

/**
 * Where the store's history stands: its epoch (created with the store, gone when the store is
 * emptied), its version and the hash of its latest entry. Two reads with the same head saw the
 * same history; a node compares the store's head with its own to notice a store that was
 * emptied, rolled back or diverged (see docs/architecture.md, "Trusting the store").
 */
export interface StoreHead {
  epoch: string
  version: number
  head: string
}

/** Why a node stopped trusting the history it follows. */
export type DivergenceReason = 'epoch_changed' | 'epoch_missing' | 'version_back' | 'chain_broken'

/**
 * What `tail` yields: every change in version order, or — when the log no longer holds the
 * versions the reader missed (trimmed, or the store was reset) — the whole current document.
 */
export type TailEvent =
  | { kind: 'change'; entry: LogEntry }
  | ({ kind: 'resync'; at: number } & Snapshot)
  /** A quiet tail's periodic look at the store's head (`null`: the store has no epoch). */
  | { kind: 'head'; head: StoreHead | null }

export interface Snapshot extends StoreHead {
  /** Persistent maps (see policy/state.ts); `toPolicy` gives the JSON document. */
  policy: PolicyState
}

export interface ApplyOptions {
  /** Apply only if the current version is exactly this one; otherwise `conflict`. */
  ifVersion?: number
  /** Apply only if the store's head (epoch + history) is exactly this one; otherwise `conflict`. */
  ifHead?: StoreHead
  /** The new version is at least this (a restore continues above the versions nodes have seen). */
  minVersion?: number
  actor?: string
}

export type ApplyResult =
  | {
      ok: true
      version: number
      previousVersion: number
      at: number
      policy: PolicyState
      head: StoreHead
    }
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

/**
 * A session's refresh family: the one record its refresh tokens live by, however often they
 * rotate. Tokens are never stored, only hashes (see `RefreshHashes`).
 */
export interface RefreshRecord {
  /** The session; one family per session, so this is the family's key too. */
  sid: string
  sub: string
  /** When the live token was issued, epoch seconds: `issued_before` revocations apply to it too. */
  iat: number
  /** When the live token expires, milliseconds since epoch; the record goes with it. */
  exp: number
  /** Custom claims given at session creation, carried into every access token of the session. */
  claims?: Record<string, unknown>
  /** Rotations so far: the live token is of this generation, every earlier one is spent. */
  generation: number
}

/** What the store is shown of a refresh token: SHA-256 hashes only. */
export interface RefreshHashes {
  /** Of the family secret every token of the session carries. */
  family: string
  /** Of the whole token. */
  token: string
}

export type RotateRefreshResult =
  | { ok: true; previous: RefreshRecord; next: RefreshRecord }
  | { ok: false; reason: 'unknown' | 'expired' | 'family_revoked'; record?: RefreshRecord }
  /** A spent token was presented again: the store has already revoked its whole family. */
  | { ok: false; reason: 'reused'; record: RefreshRecord }

/**
 * Who the nodes sharing a store are, as one deployment: the issuer every node signs and verifies
 * as, and — when no `VIGIL_API_KEY` was set — the SHA-256 of the development API key the first
 * node generated (never the key itself), so every node accepts the one key that was printed.
 */
export interface DeploymentIdentity {
  issuer: string
  /** Hex SHA-256 of the generated development API key; absent when the key is configured. */
  apiKeySha256?: string
  /** The node that generated (and printed) that key. */
  apiKeyNode?: string
}

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

export interface PruneOptions {
  /** Past its `until`, a revocation is kept this much longer (clock skew). @default 120 */
  graceS?: number
  /** Most revocations one call drops (one `revoke.prune` change). @default 1000 */
  limit?: number
}

export interface PruneResult {
  /** Session and token revocations dropped from the document. */
  revocations: number
  /** Refresh families dropped after their live token expired (Redis lets its keys expire). */
  families: number
  /** A whole batch was due: more may be, so call again. */
  more: boolean
  /** The version of the `revoke.prune` change, when one was written. */
  version?: number
}

/**
 * The one central place: the policy document with its version and change log, the signing key
 * ring and the refresh-token families. `RedisStore` and `MemoryStore` implement it and pass the same
 * contract suite (`server/test/store/contract.ts`).
 */
export interface PolicyStore {
  readonly kind: 'redis' | 'memory'
  /** The current document with its head; creates the store's epoch when it has none. */
  load(): Promise<Snapshot>
  /** The current version only: one cheap read. */
  version(): Promise<number>
  /** The current head (one cheap read, for strong consistency); `null` when there is no epoch. */
  head(): Promise<StoreHead | null>
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
  /**
   * Writes back keys the store lost (those it holds are left alone) and, when it has no signer,
   * makes `currentKid` the signer. Returns how many keys were written.
   */
  restoreKeys(keys: StoredKey[], currentKid: string | null): Promise<number>

  /** Starts the refresh family of a new session at generation 0, kept until `record.exp`. */
  saveRefresh(record: Omit<RefreshRecord, 'generation'>, hashes: RefreshHashes): Promise<void>
  /** The family of `sid`, when `familyHash` proves the caller holds one of its tokens. */
  getRefresh(sid: string, familyHash: string): Promise<RefreshRecord | null>
  /**
   * Spends the live token of `sid` (proven by `hashes`) for one hashed `nextHash`, with expiry
   * `newExp` (ms) and `iat` = `nowMs` in seconds, atomically. Any other token of the family (it
   * proves the family but is not the live one) is a replay of a spent one: it revokes the family
   * (RFC 9700 §4.14.2). State stays one record per session, however long the chain.
   */
  rotateRefresh(
    sid: string,
    hashes: RefreshHashes,
    nextHash: string,
    nowMs: number,
    newExp: number,
  ): Promise<RotateRefreshResult>
  /** Revokes the refresh family of `sid` (kept as revoked until it would have expired). */
  revokeFamily(sid: string): Promise<void>
  /**
   * Drops state that can no longer matter at `nowMs`, in bounded batches and never by scanning:
   * session and token revocations past their `until` (one `revoke.prune` change every node
   * applies) and, in memory, expired refresh families and directory entries. The enforcer calls
   * it every minute; see docs/architecture.md, "Bounded state".
   */
  prune(nowMs: number, options?: PruneOptions): Promise<PruneResult>

  /** Publishes (or updates) a live session of `node`; the node's entries expire after `ttlMs`. */
  putLiveSessions(node: string, sessions: LiveSessionInfo[], ttlMs: number): Promise<void>
  dropLiveSession(node: string, sid: string): Promise<void>
  /** Keeps a node's entries alive; a node that stops touching disappears after `ttlMs`. */
  touchNode(node: string, ttlMs: number): Promise<void>
  /** Live sessions of every node that is still alive. */
  listLiveSessions(): Promise<LiveSessionInfo[]>

  /** Records `candidate` as the deployment's identity where none is, and returns what is. */
  claimDeployment(candidate: DeploymentIdentity): Promise<DeploymentIdentity>

  close(): Promise<void>
}
