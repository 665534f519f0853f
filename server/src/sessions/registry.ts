import type { Capabilities } from '@vigil-enforcer/client/protocol'
import type { Affected } from '../policy/affected.js'
import type { Principal } from '../policy/principal.js'

/** One live connection on this node, with what it was last told it may do. */
export interface LiveEntry {
  /** Socket id (unique on this node). */
  id: string
  principal: Principal
  /** Principal keys (subject, claim-derived groups) it is indexed under. */
  keys: string[]
  /** Shared between entries with the same roles: read-only. */
  roles: string[]
  /** Shared between entries with the same capabilities: read-only, replaced as a whole. */
  capabilities: Capabilities
  connectedAt: number
  lastDecisionAt?: number
}

/**
 * Most keys (a subject, a session id, a token id) name one live entry: it is stored as is, and a
 * Set is allocated only once a second entry shares the key.
 */
type Slot = LiveEntry | Set<LiveEntry>
type Index = Map<string, Slot>

const NONE: readonly LiveEntry[] = []

function put(index: Index, key: string | undefined, entry: LiveEntry): void {
  if (key === undefined) return
  const slot = index.get(key)
  if (slot === undefined) index.set(key, entry)
  else if (slot instanceof Set) slot.add(entry)
  else if (slot !== entry) index.set(key, new Set([slot, entry]))
}

function drop(index: Index, key: string | undefined, entry: LiveEntry): void {
  if (key === undefined) return
  const slot = index.get(key)
  if (slot === entry) index.delete(key)
  else if (slot instanceof Set && slot.delete(entry) && slot.size < 2) {
    const [rest] = slot
    if (rest === undefined) index.delete(key)
    else index.set(key, rest)
  }
}

function entriesOf(slot: Slot | undefined): Iterable<LiveEntry> {
  return slot === undefined ? NONE : slot instanceof Set ? slot : [slot]
}

/**
 * A canonicalizing map: `intern(value)` returns the live object first seen with the same key, or
 * `value` itself, which becomes the shared one. Thousands of sessions with the same roles then hold
 * one capabilities object between them, and an update can compare (and diff) them by identity.
 * Held weakly: once no entry refers to a shared value, it is collected and its key forgotten.
 */
function createInterner<T extends object>(keyOf: (value: T) => string) {
  const known = new Map<string, WeakRef<T>>()
  // Values are read-only, so an object's key never changes: the policy hands out one shared
  // capabilities object to many principals, and each is keyed once, not once per session.
  const keys = new WeakMap<T, string>()
  const forget = new FinalizationRegistry<string>((key) => {
    // The key may have been taken by a newer object since.
    if (known.get(key)?.deref() === undefined) known.delete(key)
  })
  return function intern(value: T): T {
    let key = keys.get(value)
    if (key === undefined) keys.set(value, (key = keyOf(value)))
    const shared = known.get(key)?.deref()
    if (shared !== undefined) return shared
    known.set(key, new WeakRef(value))
    forget.register(value, key)
    return value
  }
}

/**
 * This node's live sessions, indexed by principal key, session id, token id and role, so a
 * change touches only the connections it can affect — never a scan, except when the whole
 * document was replaced. Entries with equal roles or capabilities share one object.
 *
 * @example
 * ```ts
 * const registry = createSessionRegistry()
 * registry.add(entry)
 * for (const e of registry.select({ all: false, principals: ['alice'], roles: [], sessions: [], jtis: [] })) …
 * ```
 */
export function createSessionRegistry() {
  const all = new Map<string, LiveEntry>()
  const byKey: Index = new Map()
  const bySession: Index = new Map()
  const byJti: Index = new Map()
  const byRole: Index = new Map()
  const sharedRoles = createInterner<string[]>((roles) => roles.join('\u0000'))
  const sharedCapabilities = createInterner<Capabilities>((c) => JSON.stringify(c))

  const indexAll = (entry: LiveEntry, op: typeof put): void => {
    for (const k of entry.keys) op(byKey, k, entry)
    for (const r of entry.roles) op(byRole, r, entry)
    op(bySession, entry.principal.sid, entry)
    op(byJti, entry.principal.jti, entry)
  }

  return {
    get size(): number {
      return all.size
    },
    add(entry: LiveEntry): void {
      entry.roles = sharedRoles(entry.roles)
      entry.capabilities = sharedCapabilities(entry.capabilities)
      all.set(entry.id, entry)
      indexAll(entry, put)
    },
    remove(id: string): LiveEntry | undefined {
      const entry = all.get(id)
      if (!entry) return undefined
      all.delete(id)
      indexAll(entry, drop)
      return entry
    },
    get(id: string): LiveEntry | undefined {
      return all.get(id)
    },
    /** Re-indexes an entry whose token, keys or roles changed (refresh, role change). */
    update(id: string, next: Pick<LiveEntry, 'principal' | 'keys' | 'roles'>): void {
      const entry = all.get(id)
      if (!entry) return
      indexAll(entry, drop)
      entry.principal = next.principal
      entry.keys = next.keys
      entry.roles = sharedRoles(next.roles)
      indexAll(entry, put)
    },
    /**
     * Records what an entry has now been told it may do. Returns the shared object stored, so
     * that equal capabilities before and after compare identical.
     */
    setCapabilities(entry: LiveEntry, capabilities: Capabilities): Capabilities {
      return (entry.capabilities = sharedCapabilities(capabilities))
    },
    /** The entries a change can affect. */
    select(affected: Affected): Iterable<LiveEntry> {
      if (affected.all) return [...all.values()]
      const out = new Set<LiveEntry>()
      const gather = (index: Index, keys: string[]): void => {
        for (const k of keys) for (const e of entriesOf(index.get(k))) out.add(e)
      }
      gather(byKey, affected.principals)
      gather(byRole, affected.roles)
      gather(bySession, affected.sessions)
      gather(byJti, affected.jtis)
      return out
    },
    /** Entries of one session id (its tabs). */
    ofSession(sid: string): Iterable<LiveEntry> {
      return entriesOf(bySession.get(sid))
    },
    entries(): Iterable<LiveEntry> {
      return all.values()
    },
  }
}

export type SessionRegistry = ReturnType<typeof createSessionRegistry>
