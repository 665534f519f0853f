import type {
  Capabilities,
  RevokedEvent,
  StepDownEvent,
  StepUpEvent,
} from '@vigil-enforcer/client/protocol'
import type { PolicyUpdate } from '../live-policy.js'
import { diffCapabilities } from './capability-diff.js'
import type { LiveEntry, SessionRegistry } from './registry.js'

/**
 * What a group of live connections must be told after a policy update. Every connection of a
 * group gets the very same event, so it can be encoded once and broadcast.
 */
export type Consequence =
  | { kind: 'revoked'; event: RevokedEvent; entries: LiveEntry[] }
  | { kind: 'step-down'; event: StepDownEvent; entries: LiveEntry[] }
  | { kind: 'step-up'; event: StepUpEvent; entries: LiveEntry[] }

type Step = Exclude<Consequence, { kind: 'revoked' }>

/**
 * Re-decides only the connections an update can affect and returns what each must be told,
 * grouped by identical event. Entries are updated in place (capabilities, roles and their
 * index), so the next update diffs against what the client was actually sent.
 *
 * Connections with equal capabilities share one capabilities object (see the registry), so
 * capabilities are diffed once per distinct (before, after) pair, not once per connection.
 */
export function reevaluate(update: PolicyUpdate, registry: SessionRegistry): Consequence[] {
  const { after, at } = update
  const version = after.version
  const out: Consequence[] = []
  const revocations = new Map<string, Consequence>()
  const steps = new Map<Capabilities, Map<Capabilities, Step | null>>()

  function revoked(detail: string): Consequence {
    let group = revocations.get(detail)
    if (!group) {
      group = { kind: 'revoked', event: { reason: detail, version, at }, entries: [] }
      revocations.set(detail, group)
      out.push(group)
    }
    return group
  }

  function step(before: Capabilities, now: Capabilities): Step | null {
    let fromBefore = steps.get(before)
    if (!fromBefore) steps.set(before, (fromBefore = new Map()))
    let group = fromBefore.get(now)
    if (group === undefined) {
      group = stepBetween(before, now, version, at)
      fromBefore.set(now, group)
      if (group) out.push(group)
    }
    return group
  }

  for (const entry of registry.select(update.affected)) {
    const revocation = after.revocation(entry.principal)
    if (revocation) {
      revoked(revocation.detail).entries.push(entry)
      continue
    }
    const before = entry.capabilities
    const capabilities = registry.setCapabilities(entry, after.capabilities(entry.principal))
    const roles = after.rolesOf(entry.principal)
    if (roles.join('\u0000') !== entry.roles.join('\u0000')) {
      registry.update(entry.id, { principal: entry.principal, keys: entry.keys, roles })
    }
    if (capabilities !== before) step(before, capabilities)?.entries.push(entry)
  }
  return out
}

function stepBetween(
  before: Capabilities,
  capabilities: Capabilities,
  version: number,
  at: number,
): Step | null {
  const { removed, added } = diffCapabilities(before, capabilities)
  if (removed.length > 0) {
    return { kind: 'step-down', event: { version, capabilities, removed, at }, entries: [] }
  }
  if (added.length > 0) {
    return { kind: 'step-up', event: { version, capabilities, added, at }, entries: [] }
  }
  return null
}
