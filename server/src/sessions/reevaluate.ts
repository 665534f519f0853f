import type { Capabilities, RevokedEvent, StepDownEvent, StepUpEvent } from '@vigil/client/protocol'
import type { PolicyUpdate } from '../live-policy.js'
import { diffCapabilities } from './capability-diff.js'
import type { LiveEntry, SessionRegistry } from './registry.js'

/** What one live connection must be told after a policy update. */
export type Consequence =
  | { entry: LiveEntry; kind: 'revoked'; event: RevokedEvent }
  | { entry: LiveEntry; kind: 'step-down'; event: StepDownEvent }
  | { entry: LiveEntry; kind: 'step-up'; event: StepUpEvent }

/**
 * Re-decides only the connections an update can affect and returns what each must be told.
 * Entries are updated in place (capabilities, roles and their index), so the next update diffs
 * against what the client was actually sent.
 */
export function reevaluate(update: PolicyUpdate, registry: SessionRegistry): Consequence[] {
  const { after, at } = update
  const version = after.version
  const out: Consequence[] = []
  for (const entry of registry.select(update.affected)) {
    const revoked = after.revocation(entry.principal)
    if (revoked) {
      out.push({ entry, kind: 'revoked', event: { reason: revoked.detail, version, at } })
      continue
    }
    const capabilities: Capabilities = after.capabilities(entry.principal)
    const { removed, added } = diffCapabilities(entry.capabilities, capabilities)
    entry.capabilities = capabilities
    const roles = after.rolesOf(entry.principal)
    if (roles.join('\u0000') !== entry.roles.join('\u0000')) {
      registry.update(entry.id, { principal: entry.principal, keys: entry.keys, roles })
    }
    if (removed.length > 0) {
      out.push({ entry, kind: 'step-down', event: { version, capabilities, removed, at } })
    } else if (added.length > 0) {
      out.push({ entry, kind: 'step-up', event: { version, capabilities, added, at } })
    }
  }
  return out
}
