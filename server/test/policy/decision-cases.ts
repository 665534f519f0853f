/**
 * The decision table helpers: each case is one `test()` whose title says what it shows, asserting
 * `allow`, `reason` and `rule` of the decision against the fixture policy.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy } from '../../src/policy/compile.js'
import type { DecisionReason } from '../../src/policy/decide.js'
import type { Principal } from '../../src/policy/principal.js'
import { fixturePolicy } from './fixture.js'

export interface Expected {
  allow: boolean
  reason: DecisionReason
  rule?: string
}

export interface Case extends Expected {
  title: string
  principal: Principal
  action: string
  resource: string
}

export const byRole = (role: string): Expected => ({
  allow: true,
  reason: 'allowed_by_role',
  rule: `role:${role}`,
})
export const byRule = (rule: string): Expected => ({ allow: true, reason: 'allowed_by_rule', rule })
export const deniedBy = (rule: string): Expected => ({
  allow: false,
  reason: 'denied_by_rule',
  rule,
})
export const nothing: Expected = { allow: false, reason: 'no_matching_permission' }
export const revoked = (reason: DecisionReason): Expected => ({ allow: false, reason })

export const VERSION = 7

/** Registers one test per case, all decided by one compiled fixture policy. */
export function runCases(cases: readonly Case[]): void {
  const policy = compilePolicy(fixturePolicy(), VERSION)
  for (const c of cases) {
    test(c.title, () => {
      const decision = policy.decide(c.principal, c.action, c.resource)
      assert.deepEqual(decision, {
        allow: c.allow,
        reason: c.reason,
        ...(c.rule === undefined ? {} : { rule: c.rule }),
        version: VERSION,
      })
    })
  }
}
