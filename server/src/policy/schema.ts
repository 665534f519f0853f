import { z } from 'zod'

/**
 * The policy document and the changes that edit it. This schema is the truth about the policy's
 * shape: the store validates every document it persists against it, and the API validates every
 * change before it reaches the store.
 */

const MAX_NAME = 200
const MAX_PATTERN = 512

/**
 * A role name, subject, session id or rule id: no whitespace, no glob, and none of the names
 * JavaScript objects inherit (`__proto__`, `constructor`…), which would alias prototype members.
 */
export const Name = z
  .string()
  .min(1)
  .max(MAX_NAME)
  .regex(/^[^\s*]+$/, 'must not contain whitespace or *')
  .refine((name) => !(name in Object.prototype), 'is a reserved name')

/** A pattern over actions, resources or principal keys; `*` matches any run of characters. */
export const Pattern = z
  .string()
  .min(1)
  .max(MAX_PATTERN)
  .regex(/^\S+$/, 'must not contain whitespace')

const ClaimName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][\w.-]*$/, 'must be a claim name')

export const PermissionSchema = z.strictObject({ action: Pattern, resource: Pattern })

export const RoleSchema = z.strictObject({
  description: z.string().max(500).optional(),
  permissions: z.array(PermissionSchema).max(10_000),
})

/**
 * An explicit allow or deny. `subjects` match principal keys: a subject (`alice`), a claim-derived
 * group (`group:contractors`, `tenant:acme`), a role (`role:editor`) or `*`. `when` requires each
 * named claim to equal one of the listed values (for an array claim: to contain one of them).
 */
export const RuleSchema = z.strictObject({
  id: Name,
  effect: z.enum(['allow', 'deny']),
  description: z.string().max(500).optional(),
  subjects: z.array(Pattern).min(1).max(1000),
  actions: z.array(Pattern).min(1).max(1000),
  resources: z.array(Pattern).min(1).max(1000),
  when: z.record(ClaimName, z.array(z.string().max(MAX_NAME)).min(1).max(100)).optional(),
})

const Reason = z.string().min(1).max(500)
const EpochMs = z.number().int().nonnegative()
const EpochSeconds = z.number().int().nonnegative()
/** Most ids one `revoke.prune` change lists per section: the pruner's batch. */
export const PRUNE_BATCH = 1000

const RevocationEntry = z.strictObject({ reason: Reason, at: EpochMs })

export const RevocationsSchema = z.strictObject({
  subjects: z.record(Name, RevocationEntry).default({}),
  /**
   * By session id; `until` (epoch seconds) is when no token of the session can still be valid,
   * after which the entry is pruned (see `revoke.prune`). Without `until` it stays until lifted.
   */
  sessions: z.record(Name, RevocationEntry.extend({ until: EpochSeconds.optional() })).default({}),
  /** By token `jti`; `until` is the token's `exp`, after which the entry is pruned. */
  tokens: z.record(Name, RevocationEntry.extend({ until: EpochSeconds.optional() })).default({}),
  /** Every token of the subject whose `iat` is strictly before `before` (epoch seconds). */
  issuedBefore: z.record(Name, RevocationEntry.extend({ before: EpochSeconds })).default({}),
})

export const PolicySchema = z
  .strictObject({
    roles: z.record(Name, RoleSchema).default({}),
    /** Principal key (subject or claim-derived group such as `group:contractors`) → role names. */
    bindings: z.record(Name, z.array(Name).max(1000)).default({}),
    rules: z.array(RuleSchema).max(100_000).default([]),
    revocations: RevocationsSchema.default({
      subjects: {},
      sessions: {},
      tokens: {},
      issuedBefore: {},
    }),
    /** Claim → group prefix: a token claim `groups: ['x']` makes the principal key `group:x`. */
    groupClaims: z.record(ClaimName, Name).default({ groups: 'group', tenant: 'tenant' }),
  })
  .superRefine((doc, ctx) => {
    for (const [key, roles] of Object.entries(doc.bindings)) {
      roles.forEach((role, i) => {
        if (!Object.hasOwn(doc.roles, role)) {
          ctx.addIssue({
            code: 'custom',
            path: ['bindings', key, i],
            message: `unknown role "${role}"`,
          })
        }
      })
    }
    const seen = new Set<string>()
    doc.rules.forEach((rule, i) => {
      if (seen.has(rule.id)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: 'duplicate rule id' })
      }
      seen.add(rule.id)
    })
  })

export type Policy = z.output<typeof PolicySchema>
export type PolicyInput = z.input<typeof PolicySchema>
export type Role = z.output<typeof RoleSchema>
export type Rule = z.output<typeof RuleSchema>
export type Revocations = z.output<typeof RevocationsSchema>

/** What a revocation targets. */
export const RevokeTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('subject'), subject: Name }),
  z.strictObject({ kind: z.literal('session'), session: Name, until: EpochSeconds.optional() }),
  z.strictObject({ kind: z.literal('token'), jti: Name, until: EpochSeconds.optional() }),
  z.strictObject({ kind: z.literal('issued_before'), subject: Name, before: EpochSeconds }),
])
export type RevokeTarget = z.output<typeof RevokeTargetSchema>

/** One edit of the central state. Each is appended to the change log with the next version. */
export const ChangeSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('subject.roles'),
    subject: Name,
    roles: z.array(Name).max(1000),
  }),
  z.strictObject({ type: z.literal('role.put'), role: Name, definition: RoleSchema }),
  z.strictObject({ type: z.literal('role.delete'), role: Name }),
  z.strictObject({ type: z.literal('rule.put'), rule: RuleSchema }),
  z.strictObject({ type: z.literal('rule.delete'), id: Name }),
  z.strictObject({
    type: z.literal('revoke'),
    target: RevokeTargetSchema,
    reason: Reason.optional(),
  }),
  z.strictObject({ type: z.literal('revoke.lift'), target: RevokeTargetSchema }),
  z.strictObject({ type: z.literal('policy.replace'), policy: z.unknown() }),
  /** Operational: the signing key changed; nodes reload their key ring. The document is unchanged. */
  z.strictObject({ type: z.literal('keys.rotated'), kid: Name }),
  /**
   * Housekeeping: drops the listed session and token revocations whose `until` has passed (any
   * other listed id is left alone, so a prune can never lift a live revocation). Written by the
   * store's pruner in bounded batches; see docs/architecture.md, "Bounded state".
   */
  z.strictObject({
    type: z.literal('revoke.prune'),
    sessions: z.array(Name).max(PRUNE_BATCH),
    tokens: z.array(Name).max(PRUNE_BATCH),
  }),
])
export type Change = z.output<typeof ChangeSchema>

/** An empty, valid policy: denies everything. */
export function emptyPolicy(): Policy {
  return PolicySchema.parse({})
}

/** Validation issues as `{path, message}` with a dotted JSON path, for error bodies. */
export function formatIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.flatMap((issue) => {
    const at = issue.path.map(String)
    // An unknown field is named by its own path, so the caller sees which one to remove.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: 'unknown field' }))
    }
    return [{ path: at.join('.') || '(root)', message: issue.message }]
  })
}
