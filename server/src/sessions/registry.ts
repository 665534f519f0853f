import type { Capabilities } from '@vigil/client/protocol'
import type { Affected } from '../policy/changes.js'
import type { Principal } from '../policy/principal.js'

/** One live connection on this node, with what it was last told it may do. */
export interface LiveEntry {
  /** Socket id (unique on this node). */
  id: string
  principal: Principal
  /** Principal keys (subject, claim-derived groups) it is indexed under. */
  keys: string[]
  roles: string[]
  capabilities: Capabilities
  connectedAt: number
  lastDecisionAt?: number
}

type Index = Map<string, Set<LiveEntry>>

/**
 * This node's live sessions, indexed by principal key, session id, token id and role, so a
 * change touches only the connections it can affect — never a scan, except when the whole
 * document was replaced.
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

  const put = (index: Index, key: string | undefined, entry: LiveEntry): void => {
    if (key === undefined) return
    let set = index.get(key)
    if (!set) index.set(key, (set = new Set()))
    set.add(entry)
  }
  const drop = (index: Index, key: string | undefined, entry: LiveEntry): void => {
    if (key === undefined) return
    const set = index.get(key)
    if (!set) return
    set.delete(entry)
    if (set.size === 0) index.delete(key)
  }
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
      entry.roles = next.roles
      indexAll(entry, put)
    },
    /** The entries a change can affect. */
    select(affected: Affected): Iterable<LiveEntry> {
      if (affected.all) return [...all.values()]
      const out = new Set<LiveEntry>()
      const gather = (index: Index, keys: string[]): void => {
        for (const k of keys) for (const e of index.get(k) ?? []) out.add(e)
      }
      gather(byKey, affected.principals)
      gather(byRole, affected.roles)
      gather(bySession, affected.sessions)
      gather(byJti, affected.jtis)
      return out
    },
    /** Entries of one session id (its tabs). */
    ofSession(sid: string): Iterable<LiveEntry> {
      return bySession.get(sid) ?? []
    },
    entries(): Iterable<LiveEntry> {
      return all.values()
    },
  }
}

export type SessionRegistry = ReturnType<typeof createSessionRegistry>
