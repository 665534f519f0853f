import type { Policy } from '../policy/schema.js'
import { DOC_KEY_ORDER, type DocumentKeys } from './redis-keys.js'

/**
 * How the policy document lives in Redis: small sections (roles, rules, group claims) as JSON
 * fields of one hash, and the sections that grow with users — bindings and the four revocation
 * maps — as one hash field per entry. A revocation then writes one field, not the whole
 * document (which is hundreds of kilobytes with tens of thousands of subjects).
 */

type MapSection = Exclude<(typeof DOC_KEY_ORDER)[number], 'meta'>
const META_FIELDS = ['roles', 'rules', 'groupClaims'] as const

function mapOf(policy: Policy, section: MapSection): Record<string, unknown> {
  return section === 'bindings' ? policy.bindings : policy.revocations[section]
}

/**
 * The writes that turn `before` into `after`, as flat `[op, keyIndex, field, value]` quads for the
 * APPLY script (`S` = HSET, `D` = HDEL). Changes are copy-on-write, so an untouched section or
 * entry keeps its identity and costs one comparison, not a serialization.
 */
export function encodePatch(before: Policy, after: Policy): string[] {
  const ops: string[] = []
  for (const field of META_FIELDS) {
    if (before[field] !== after[field]) ops.push('S', '0', field, JSON.stringify(after[field]))
  }
  DOC_KEY_ORDER.forEach((section, index) => {
    if (section === 'meta') return
    const was = mapOf(before, section)
    const now = mapOf(after, section)
    if (was === now) return
    const key = String(index)
    for (const [field, value] of Object.entries(now)) {
      if (was[field] !== value) ops.push('S', key, field, JSON.stringify(value))
    }
    for (const field of Object.keys(was)) {
      if (!Object.hasOwn(now, field)) ops.push('D', key, field, '')
    }
  })
  return ops
}

/** The keys of the document in script order. */
export function documentKeys(keys: DocumentKeys): string[] {
  return DOC_KEY_ORDER.map((k) => keys[k])
}

/**
 * Rebuilds the (unvalidated) document from the READ script's reply: one flat
 * `[field, value, …]` array per document key, in script order.
 */
export function decodeDocument(sections: string[][]): unknown {
  const maps = sections.map((flat) => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = JSON.parse(flat[i + 1]!)
    return out
  })
  const [meta = {}, bindings, subjects, sessions, tokens, issuedBefore] = maps
  return {
    ...meta,
    bindings: bindings ?? {},
    revocations: {
      subjects: subjects ?? {},
      sessions: sessions ?? {},
      tokens: tokens ?? {},
      issuedBefore: issuedBefore ?? {},
    },
  }
}
