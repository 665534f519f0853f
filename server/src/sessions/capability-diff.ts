import type { Capabilities, Permission } from '@vigil-enforcer/client/protocol'

const keyOf = (p: Permission): string => `${p.action}\u0000${p.resource}`

function minus(a: Permission[], b: Permission[]): Permission[] {
  const seen = new Set(b.map(keyOf))
  return a.filter((p) => !seen.has(keyOf(p)))
}

/**
 * What a change took away and what it granted. Narrowing is a lost allow or a new deny;
 * widening is a new allow or a lifted deny. Both can happen at once (a role swapped for another).
 *
 * @example
 * ```ts
 * const { removed, added } = diffCapabilities(before, after)
 * if (removed.length) socket.emit('vigil:step-down', { version, capabilities: after, removed, at })
 * ```
 */
export function diffCapabilities(
  before: Capabilities,
  after: Capabilities,
): { removed: Permission[]; added: Permission[] } {
  return {
    removed: [...minus(before.allow, after.allow), ...minus(after.deny, before.deny)],
    added: [...minus(after.allow, before.allow), ...minus(before.deny, after.deny)],
  }
}
