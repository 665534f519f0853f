import type { PolicyStore, RefreshRecord, RotateRefreshResult } from './types.js'

type RefreshFamilies = Pick<
  PolicyStore,
  'saveRefresh' | 'getRefresh' | 'rotateRefresh' | 'revokeFamily'
> & {
  /** Drops families whose live token has expired, oldest first; returns how many. */
  prune(nowMs: number): number
  /** Families held now (for tests and the state benchmark). */
  readonly size: number
}

interface Family {
  record: RefreshRecord
  familyHash: string
  tokenHash: string
  revoked: boolean
}

/**
 * The memory store's refresh families: one entry per session, as in Redis. Entries are kept in
 * the order of their last write (a rotation moves its family to the back), which with one refresh
 * lifetime is also the order of their expiry, so pruning walks from the front and stops at the
 * first live family: O(what is pruned), never a scan of every session.
 */
export function createMemoryRefresh(): RefreshFamilies {
  const families = new Map<string, Family>()

  return {
    get size() {
      return families.size
    },
    saveRefresh(record, hashes) {
      families.delete(record.sid)
      families.set(record.sid, {
        record: { ...structuredClone(record), generation: 0 },
        familyHash: hashes.family,
        tokenHash: hashes.token,
        revoked: false,
      })
      return Promise.resolve()
    },
    getRefresh(sid, familyHash) {
      const family = families.get(sid)
      if (!family || family.familyHash !== familyHash) return Promise.resolve(null)
      return Promise.resolve(structuredClone(family.record))
    },
    rotateRefresh(sid, hashes, nextHash, nowMs, newExp): Promise<RotateRefreshResult> {
      const family = families.get(sid)
      if (!family || family.familyHash !== hashes.family) {
        return Promise.resolve({ ok: false, reason: 'unknown' })
      }
      const record = structuredClone(family.record)
      if (family.revoked) return Promise.resolve({ ok: false, reason: 'family_revoked', record })
      if (family.tokenHash !== hashes.token) {
        family.revoked = true
        return Promise.resolve({ ok: false, reason: 'reused', record })
      }
      if (record.exp <= nowMs) return Promise.resolve({ ok: false, reason: 'expired', record })
      const next: RefreshRecord = {
        ...record,
        iat: Math.floor(nowMs / 1000),
        exp: newExp,
        generation: record.generation + 1,
      }
      families.delete(sid)
      families.set(sid, { ...family, record: structuredClone(next), tokenHash: nextHash })
      return Promise.resolve({ ok: true, previous: record, next })
    },
    revokeFamily(sid) {
      const family = families.get(sid)
      if (family) family.revoked = true
      return Promise.resolve()
    },
    prune(nowMs) {
      let pruned = 0
      for (const [sid, family] of families) {
        if (family.record.exp > nowMs) break
        families.delete(sid)
        pruned += 1
      }
      return pruned
    },
  }
}
