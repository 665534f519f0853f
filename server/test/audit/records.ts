import type { DecisionRecord } from '../../src/audit/audit-log.js'

/** Decisions the audit tests log: a plain one, one with no principal, one full of escapes. */
export const RECORDS: DecisionRecord[] = [
  {
    transport: 'socket',
    sub: 'alice',
    sid: 'sid-1',
    jti: 'jti-1',
    action: 'doc:write',
    resource: 'doc/42',
    allow: true,
    reason: 'allowed_by_role',
    rule: undefined,
    version: 7,
    durationUs: 3.4,
  },
  {
    transport: 'http',
    action: 'doc:read',
    resource: '',
    allow: false,
    reason: 'token_missing',
    rule: 'deny-contractors',
    version: 12,
    durationUs: Number.NaN,
  },
  {
    transport: 'api',
    sub: 'mal"lory\\',
    sid: 'tab\tnew\nline\u0001',
    jti: 'lone \ud800 surrogate, pair \ud83d\ude00, separator \u2028',
    action: 'doc:write',
    resource: 'doc/"quoted"/é',
    allow: false,
    reason: 'no_matching_permission',
    version: 0,
    durationUs: 0,
  },
]
