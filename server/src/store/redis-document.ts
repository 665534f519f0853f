import { mapSection, type PolicyState } from '../policy/state.js'
import type { Touched } from '../policy/touched.js'
import { DOC_KEY_ORDER, type DocumentKeys } from './redis-keys.js'

/**
 * How the policy document lives in Redis: small sections (roles, rules, group claims) as JSON
 * fields of one hash, and the sections that grow with users — bindings and the four revocation
 * maps — as one hash field per entry. A revocation then writes one field, not the whole
 * document (which is hundreds of kilobytes with tens of thousands of subjects).
 */

const META_FIELDS = ['roles', 'rules', 'groupClaims'] as const

/**
 * The writes that turn `before` into `after`, as flat `[op, keyIndex, field, value]` quads for the
 * APPLY script (`S` = HSET, `D` = HDEL). Only the entries the change `touched` are written, so a
 * revocation writes one field whatever the size of the document; a whole-document change
 * (`touched.all`) is diffed section by section, which is O(document) like the change itself.
 *
 * @example
 * ```ts
 * const r = applyChange(base.policy, change, now)
 * if (r.ok) ops = encodePatch(base.policy, r.policy, r.touched)
 * ```
 */
export function encodePatch(before: PolicyState, after: PolicyState, touched: Touched): string[] {
  const ops: string[] = []
  for (const field of META_FIELDS) {
    if (touched.all ? before[field] !== after[field] : touched.meta.has(field)) {
      ops.push('S', '0', field, JSON.stringify(after[field]))
    }
  }
  DOC_KEY_ORDER.forEach((section, index) => {
    if (section === 'meta') return
    const key = String(index)
    const was = mapSection(before, section)
    const now = mapSection(after, section)
    if (touched.all) {
      if (was === now) return
      for (const [field, value] of now) {
        if (was.get(field) !== value) ops.push('S', key, field, JSON.stringify(value))
      }
      for (const field of was.keys()) if (!now.has(field)) ops.push('D', key, field, '')
      return
    }
    for (const field of touched.entries.get(section) ?? []) {
      const value = now.get(field)
      if (value === undefined) ops.push('D', key, field, '')
      else ops.push('S', key, field, JSON.stringify(value))
    }
  })
  return ops
}

/** The keys of the document in script order. */
export function documentKeys(keys: DocumentKeys): string[] {
  return DOC_KEY_ORDER.map((k) => keys[k])
}
