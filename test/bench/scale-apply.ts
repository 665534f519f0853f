/**
 * What one policy change costs as the document grows: 1k → 10k → 100k → 1M bound subjects (and a
 * fifth as many revoked sessions), in this process, with no I/O.
 *
 * - `node`: what every enforcer node does per change it reads from the log — `applyChange`,
 *   `compilePolicy` against the previous version, and `affectedBy`.
 * - `write`: what the writer adds — validating the change (`parseChange`) and building the
 *   store's patch (`encodePatch`).
 *
 * The changes cycle through a new session revocation, a binding change of an existing subject,
 * a subject revocation and a lift. Each figure is the median of 20 runs of 1,000 changes.
 */
import { affectedBy } from '../../server/src/policy/affected.js'
import { applyChange, parseChange } from '../../server/src/policy/changes.js'
import { compilePolicy, type CompiledPolicy } from '../../server/src/policy/compile.js'
import type { Change, Policy } from '../../server/src/policy/schema.js'
import { toState } from '../../server/src/policy/state.js'
import { encodePatch } from '../../server/src/store/redis-document.js'
import { quantile } from './harness.js'

const CHUNK = 1_000
const CHUNKS = 20

/** `n` subjects bound to viewer or editor and `n / 5` revoked sessions, as a JSON document. */
export function scalePolicy(n: number): Policy {
  const bindings: Record<string, string[]> = {}
  for (let i = 0; i < n; i++) bindings[`u${i}`] = i % 2 === 0 ? ['viewer'] : ['editor']
  const sessions: Record<string, { reason: string; at: number }> = {}
  for (let i = 0; i < n / 5; i++) sessions[`s${i}`] = { reason: 'revoked', at: 1 }
  return {
    roles: {
      viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
      editor: { permissions: [{ action: 'doc:write', resource: 'doc/*' }] },
    },
    bindings,
    rules: [],
    revocations: { subjects: {}, sessions, tokens: {}, issuedBefore: {} },
    groupClaims: { groups: 'group' },
  }
}

function changeAt(i: number, n: number): Change {
  const sub = `u${(i * 7919) % n}`
  switch (i % 4) {
    case 0:
      return { type: 'revoke', target: { kind: 'session', session: `new-${i}` } }
    case 1:
      return { type: 'subject.roles', subject: sub, roles: ['editor', 'viewer'] }
    case 2:
      return { type: 'revoke', target: { kind: 'subject', subject: sub }, reason: 'bench' }
    default:
      return {
        type: 'revoke.lift',
        target: { kind: 'subject', subject: `u${((i - 1) * 7919) % n}` },
      }
  }
}

export interface ApplyCost {
  /** Median µs per change on a node. */
  nodeUs: number
  /** Median µs per change on the writer (validation + patch on top). */
  writeUs: number
}

/** Measures the per-change cost with an `n`-subject policy. */
export function measureApply(n: number): ApplyCost {
  let current: CompiledPolicy = compilePolicy(toState(scalePolicy(n)), 1)
  const nodeRuns: number[] = []
  const writeRuns: number[] = []
  let i = 0
  for (let run = 0; run < CHUNKS + 2; run++) {
    const changes = Array.from({ length: CHUNK }, () => changeAt(i++, n))
    // Node: the change as it comes from the log (already validated by the writer).
    let t0 = performance.now()
    let node = current
    for (const change of changes) {
      const r = applyChange(node.policy, change, 0)
      if (!r.ok) throw new Error(`scale bench: ${change.type} refused: ${r.message}`)
      affectedBy(change, node.policy)
      node = compilePolicy(r.policy, node.version + 1, node)
    }
    const nodeMs = performance.now() - t0
    // Writer: from the untrusted body to the Redis patch.
    t0 = performance.now()
    let state = current.policy
    for (const change of changes) {
      const parsed = parseChange(JSON.parse(JSON.stringify(change)) as unknown)
      if (!parsed.ok) throw new Error('scale bench: a change did not parse')
      const r = applyChange(state, parsed.change, 0)
      if (!r.ok) throw new Error('scale bench: a change was refused')
      encodePatch(state, r.policy, r.touched)
      state = r.policy
    }
    const writeMs = performance.now() - t0
    current = node
    if (run < 2) continue // warm-up: the first runs also compile the code they run
    nodeRuns.push((nodeMs * 1000) / CHUNK)
    writeRuns.push((writeMs * 1000) / CHUNK)
  }
  const median = (xs: number[]): number =>
    quantile(
      [...xs].sort((a, b) => a - b),
      0.5,
    )
  return { nodeUs: median(nodeRuns), writeUs: median(writeRuns) }
}
