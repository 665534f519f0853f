/** Redis key names of one store, all under one hash tag so Lua scripts work on Redis Cluster. */
export interface RedisKeys {
  version: string
  /** The store's identity: created with it, gone when Redis is emptied. */
  epoch: string
  /** The hash of the latest change-log entry (the epoch while the log is empty). */
  head: string
  /** The deployment's identity: issuer and the development API key's hash. */
  deployment: string
  /** The policy document, one key per section (see `redis-document.ts`). */
  doc: DocumentKeys
  log: string
  keys: string
  currentKid: string
  retirements: string
  /** Sorted set: revocations with an `until`, scored by it, for the pruner (`pruning.ts`). */
  due: string
  /** One hash per session: its refresh family (see `redis-secrets.ts`). */
  refreshPrefix: string
}

/** Hash keys holding the document: small sections in `meta`, large maps one field per entry. */
export interface DocumentKeys {
  meta: string
  bindings: string
  subjects: string
  sessions: string
  tokens: string
  issuedBefore: string
}

/** The document keys in the fixed order the Lua scripts receive them. */
export const DOC_KEY_ORDER = [
  'meta',
  'bindings',
  'subjects',
  'sessions',
  'tokens',
  'issuedBefore',
] as const satisfies readonly (keyof DocumentKeys)[]

/**
 * @param prefix Namespace of every key; keep the `{…}` hash tag when you change it.
 * @default '{vigil}:'
 */
export function redisKeys(prefix = '{vigil}:'): RedisKeys {
  return {
    version: `${prefix}version`,
    epoch: `${prefix}epoch`,
    head: `${prefix}head`,
    deployment: `${prefix}deployment`,
    doc: {
      meta: `${prefix}doc:meta`,
      bindings: `${prefix}doc:bindings`,
      subjects: `${prefix}doc:rev:subjects`,
      sessions: `${prefix}doc:rev:sessions`,
      tokens: `${prefix}doc:rev:tokens`,
      issuedBefore: `${prefix}doc:rev:issuedBefore`,
    },
    log: `${prefix}log`,
    keys: `${prefix}keys`,
    currentKid: `${prefix}keys:current`,
    retirements: `${prefix}keys:retire`,
    due: `${prefix}doc:rev:due`,
    refreshPrefix: `${prefix}refresh:`,
  }
}
