/**
 * A small policy that exercises every feature of the decision path, and a helper to build
 * principals. Shared by the policy tests.
 */

import { PolicySchema } from '../../src/policy/schema.js'
import type { Policy } from '../../src/policy/schema.js'
import type { Principal } from '../../src/policy/principal.js'

/** Issued-before boundary of `erin`, epoch seconds. */
export const ERIN_BEFORE = 1_000

export function fixturePolicy(): Policy {
  return PolicySchema.parse({
    roles: {
      viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
      editor: {
        permissions: [
          { action: 'doc:read', resource: 'doc/*' },
          { action: 'doc:write', resource: 'doc/*' },
        ],
      },
      auditor: { permissions: [{ action: '*:read', resource: '*' }] },
      exporter: { permissions: [{ action: 'doc:export', resource: '*/public' }] },
      reporter: { permissions: [{ action: 'report:*', resource: 'report/*/summary' }] },
      admin: { permissions: [{ action: '*', resource: '*' }] },
      literal: { permissions: [{ action: 'a.b', resource: 'x+(y)[0]' }] },
      unused: { permissions: [{ action: 'never:used', resource: '*' }] },
    },
    bindings: {
      alice: ['viewer'],
      bob: ['editor'],
      carol: ['auditor'],
      dave: ['exporter', 'reporter'],
      root: ['admin'],
      lit: ['literal'],
      mallory: ['admin'],
      erin: ['viewer'],
      'group:contractors': ['viewer'],
      'tenant:acme': ['reporter'],
    },
    rules: [
      rule('deny-secret', 'deny', ['*'], ['doc:*'], ['doc/secret/*']),
      rule('deny-bob-drafts', 'deny', ['bob'], ['doc:write'], ['doc/*/draft']),
      rule('allow-alice-comment', 'allow', ['alice'], ['comment:add'], ['doc/*']),
      rule('allow-wiki', 'allow', ['alice'], ['wiki:edit'], ['wiki/*']),
      rule('deny-wiki-locked', 'deny', ['*'], ['wiki:edit'], ['wiki/locked']),
      rule(
        'allow-contractor-tickets',
        'allow',
        ['group:contractors'],
        ['ticket:read'],
        ['ticket/*'],
      ),
      rule(
        'deny-contractor-internal',
        'deny',
        ['group:contractors'],
        ['doc:read'],
        ['doc/internal/*'],
      ),
      rule('allow-editor-publish', 'allow', ['role:editor'], ['doc:publish'], ['doc/*'], {
        acr: ['urn:mfa'],
      }),
      rule('allow-settings-mfa', 'allow', ['role:viewer'], ['settings:read'], ['settings'], {
        amr: ['mfa', 'hwk'],
      }),
      rule('allow-acme-billing', 'allow', ['*'], ['billing:read'], ['billing/acme/*'], {
        tenant: ['acme'],
      }),
      rule('allow-level-3', 'allow', ['*'], ['vault:open'], ['vault'], { level: ['3'] }),
      rule('allow-services', 'allow', ['svc-*'], ['queue:*'], ['queue/*']),
      rule('allow-auditor-logs', 'allow', ['role:audit*'], ['log:tail'], ['log/*']),
    ],
    revocations: {
      subjects: { mallory: { reason: 'compromised', at: 1 } },
      sessions: { 'sess-bad': { reason: 'logged out', at: 1 } },
      tokens: { 'jti-bad': { reason: 'leaked', at: 1 } },
      issuedBefore: { erin: { reason: 'password changed', at: 1, before: ERIN_BEFORE } },
    },
  })
}

function rule(
  id: string,
  effect: 'allow' | 'deny',
  subjects: string[],
  actions: string[],
  resources: string[],
  when?: Record<string, string[]>,
) {
  return when === undefined
    ? { id, effect, subjects, actions, resources }
    : { id, effect, subjects, actions, resources, when }
}

/** A principal with `sub`, the given claims, and `sid`/`jti`/`iat` taken from `extra`. */
export function who(
  sub: string,
  claims: Record<string, unknown> = {},
  extra: Partial<Pick<Principal, 'sid' | 'jti' | 'iat'>> = {},
): Principal {
  return { sub, ...extra, claims: { sub, ...extra, ...claims } }
}
