import { z } from 'zod'

/**
 * The policy document and the changes that edit it. This schema is the truth about the policy's
 * shape: the store validates every document it persists against it, and the API validates every
 * change before it reaches the store.
 */

const MAX_NAME = 200
const MAX_PATTERN = 512
/** Longest subject key: room for a 256-character `sub` qualified by its issuer's URL. */
export const MAX_SUBJECT = 512

/**
 * Control (Cc), format (Cf: zero-width, bidi overrides) and lone surrogate (Cs) code points: they
 * drive terminals, hide in plain sight or do not survive UTF-8, so no name or text may hold one.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}]/u
const PRINTABLE_MESSAGE = 'must not contain control or format characters'

/** The names plain objects inherit (`__proto__`, `constructor`, `toString`…). */
const isInherited = (name: string): boolean => name in Object.prototype

/** Runs of non-space characters joined by single spaces: no other whitespace, none at the ends. */
const SPACED_WORDS = /^[^\s*]+(?: [^\s*]+)*$/

/**
 * Why `value` cannot be a subject key, or `undefined` when it can. The one rule for subjects,
 * applied where a token is verified (its `sub`, qualified by a trusted issuer's URL) and in every
 * API body that names one, so whatever can sign in can also be bound and revoked by name: 1–512
 * characters, no control or format characters, no `*`, no whitespace but single spaces between
 * words, and not a name objects inherit.
 *
 * @example
 * ```ts
 * subjectProblem('alice smith') // undefined
 * subjectProblem('toString') // 'is a reserved name'
 * ```
 */
export function subjectProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_SUBJECT) {
    return `must be 1 to ${MAX_SUBJECT} characters`
  }
  if (UNPRINTABLE.test(value)) return PRINTABLE_MESSAGE
  if (!SPACED_WORDS.test(value)) {
    return 'must not contain * or whitespace other than single spaces between words'
  }
  if (isInherited(value)) return 'is a reserved name'
  return undefined
}

/**
 * A role name, session id, token id or rule id: no whitespace, no glob, no control or format
 * characters, and none of the names JavaScript objects inherit (`__proto__`, `constructor`…),
 * which would alias prototype members.
 */
export const Name = z
  .string()
  .min(1)
  .max(MAX_NAME)
  .regex(/^[^\s*]+$/, 'must not contain whitespace or *')
  .refine((name) => !UNPRINTABLE.test(name), PRINTABLE_MESSAGE)
  .refine((name) => !isInherited(name), 'is a reserved name')

/**
 * A subject key: a local subject (`alice`), an external one qualified by its issuer
 * (`https://idp.example|dave`) or a claim-derived group (`group:eng`, `https://idp.example|group:eng`).
 * See `subjectProblem` for the rule.
 */
export const Subject = z.string().superRefine((value, ctx) => {
  const problem = subjectProblem(value)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

/**
 * How many `*` globs a policy may hold. A decision tries every glob of its principal's roles and
 * rules one by one (exact names are one hash lookup), so these bound what one decision costs: a
 * glob takes from ~30 ns (short values) to ~1 µs (long values, many stars), so a decision stays
 * within about 10 ms whatever the policy. Each limit is refused with its own message; the
 * document's total with `policy_too_large`.
 */
export const GLOB_LIMITS = {
  /** `*` in one pattern: each is a substring scan of the value. */
  starsPerPattern: 16,
  /** Permissions of one role whose action or resource holds a `*`. */
  perRole: 1_000,
  /** Patterns of one rule (subjects, actions, resources) holding a `*`. */
  perRule: 100,
  /** Both of the above, over the whole document (see glob-limits.ts). */
  perDocument: 10_000,
} as const

const stars = (pattern: string): number => pattern.split('*').length - 1
const STARS_MESSAGE = `must hold at most ${GLOB_LIMITS.starsPerPattern} *`

/** A pattern over actions, resources or principal keys; `*` matches any run of characters. */
export const Pattern = z
  .string()
  .min(1)
  .max(MAX_PATTERN)
  .regex(/^\S+$/, 'must not contain whitespace')
  .refine((pattern) => !UNPRINTABLE.test(pattern), PRINTABLE_MESSAGE)
  .refine((pattern) => stars(pattern) <= GLOB_LIMITS.starsPerPattern, STARS_MESSAGE)

/** A pattern over subject keys: a subject (spaces included) or a glob of them. */
const SubjectPattern = z
  .string()
  .min(1)
  .max(MAX_SUBJECT)
  .regex(/^\S+(?: \S+)*$/, 'must not contain whitespace other than single spaces between words')
  .refine((pattern) => !UNPRINTABLE.test(pattern), PRINTABLE_MESSAGE)
  .refine((pattern) => stars(pattern) <= GLOB_LIMITS.starsPerPattern, STARS_MESSAGE)

/** Human text (descriptions, revocation reasons): printable, since consoles and CLIs show it. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((text) => !UNPRINTABLE.test(text), PRINTABLE_MESSAGE)

const ClaimName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][\w.-]*$/, 'must be a claim name')
  .refine((name) => !isInherited(name), 'is a reserved name')

/**
 * A record whose own `__proto__` key is refused, not dropped. zod's record skips that key, and
 * JSON.parse keeps it as an own key, so `{"__proto__": […]}` would otherwise parse as `{}` — for
 * a rule's `when`, an unconditional rule. Other inherited names reach the key schema, which
 * refuses them.
 */
function ownRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V) {
  const record = z.record(key, value)
  return z
    .unknown()
    .superRefine((raw, ctx) => {
      if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, '__proto__')) {
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'is a reserved name' })
      }
    })
    .pipe(record) as unknown as z.ZodType<z.output<typeof record>, z.input<typeof record>>
}

export const PermissionSchema = z.strictObject({ action: Pattern, resource: Pattern })

/** Permissions of a role whose action or resource holds a `*`. */
export function roleGlobCount(role: {
  permissions: readonly { action: string; resource: string }[]
}) {
  let n = 0
  for (const p of role.permissions) if (p.action.includes('*') || p.resource.includes('*')) n++
  return n
}

/** Patterns of a rule holding a `*`. */
export function ruleGlobCount(rule: Pick<Rule, 'subjects' | 'actions' | 'resources'>): number {
  let n = 0
  for (const list of [rule.subjects, rule.actions, rule.resources]) {
    for (const pattern of list) if (pattern.includes('*')) n++
  }
  return n
}

export const RoleSchema = z
  .strictObject({
    description: Text(500).optional(),
    permissions: z.array(PermissionSchema).max(10_000),
  })
  .superRefine((role, ctx) => {
    if (roleGlobCount(role) > GLOB_LIMITS.perRole) {
      const limit = GLOB_LIMITS.perRole.toLocaleString('en-US')
      const message = `at most ${limit} permissions with a * pattern per role`
      ctx.addIssue({ code: 'custom', path: ['permissions'], message })
    }
  })

/**
 * An explicit allow or deny. `subjects` match principal keys: a subject (`alice`), a claim-derived
 * group (`group:contractors`, `tenant:acme`), a role (`role:editor`) or `*`. `when` requires each
 * named claim to equal one of the listed values (for an array claim: to contain one of them).
 */
export const RuleSchema = z
  .strictObject({
    id: Name,
    effect: z.enum(['allow', 'deny']),
    description: Text(500).optional(),
    subjects: z.array(SubjectPattern).min(1).max(1000),
    actions: z.array(Pattern).min(1).max(1000),
    resources: z.array(Pattern).min(1).max(1000),
    /** At least one condition: an empty `when` would silently make the rule unconditional. */
    when: ownRecord(ClaimName, z.array(Text(MAX_NAME)).min(1).max(100))
      .refine((when) => Object.keys(when).length > 0, 'must hold at least one condition')
      .optional(),
  })
  .superRefine((rule, ctx) => {
    if (ruleGlobCount(rule) > GLOB_LIMITS.perRule) {
      const message = `at most ${GLOB_LIMITS.perRule} patterns with a * per rule`
      ctx.addIssue({ code: 'custom', path: ['subjects'], message })
    }
  })

/** Why something was revoked, as the admin said it. */
export const Reason = Text(500).min(1)
const EpochMs = z.number().int().nonnegative()
const EpochSeconds = z.number().int().nonnegative()
/** Most ids one `revoke.prune` change lists per section: the pruner's batch. */
export const PRUNE_BATCH = 1000

const RevocationEntry = z.strictObject({ reason: Reason, at: EpochMs })
const ExpiringEntry = RevocationEntry.extend({ until: EpochSeconds.optional() })
const BoundaryEntry = RevocationEntry.extend({ before: EpochSeconds })
/** The roles bound to one principal key. */
export const BindingSchema = z.array(Name).max(1000)

/**
 * Each persistent section's key and value schemas, for loaders that validate a stored document
 * entry by entry (see store/state-decoder.ts) rather than as one object.
 */
export const SECTION_SCHEMAS = {
  bindings: { key: Subject, value: BindingSchema },
  subjects: { key: Subject, value: RevocationEntry },
  sessions: { key: Name, value: ExpiringEntry },
  tokens: { key: Name, value: ExpiringEntry },
  issuedBefore: { key: Subject, value: BoundaryEntry },
} as const

export const RevocationsSchema = z.strictObject({
  subjects: z.record(Subject, RevocationEntry).default({}),
  /**
   * By session id; `until` (epoch seconds) is when no token of the session can still be valid,
   * after which the entry is pruned (see `revoke.prune`). Without `until` it stays until lifted.
   */
  sessions: z.record(Name, ExpiringEntry).default({}),
  /** By token `jti`; `until` is the token's `exp`, after which the entry is pruned. */
  tokens: z.record(Name, ExpiringEntry).default({}),
  /** Every token of the subject whose `iat` is strictly before `before` (epoch seconds). */
  issuedBefore: z.record(Subject, BoundaryEntry).default({}),
})

export const PolicySchema = z
  .strictObject({
    roles: ownRecord(Name, RoleSchema).default({}),
    /** Principal key (subject or claim-derived group such as `group:contractors`) → role names. */
    bindings: ownRecord(Subject, BindingSchema).default({}),
    rules: z.array(RuleSchema).max(100_000).default([]),
    revocations: RevocationsSchema.default({
      subjects: {},
      sessions: {},
      tokens: {},
      issuedBefore: {},
    }),
    /** Claim → group prefix: a token claim `groups: ['x']` makes the principal key `group:x`. */
    groupClaims: ownRecord(ClaimName, Name).default({ groups: 'group', tenant: 'tenant' }),
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
  z.strictObject({ kind: z.literal('subject'), subject: Subject }),
  z.strictObject({ kind: z.literal('session'), session: Name, until: EpochSeconds.optional() }),
  z.strictObject({ kind: z.literal('token'), jti: Name, until: EpochSeconds.optional() }),
  z.strictObject({ kind: z.literal('issued_before'), subject: Subject, before: EpochSeconds }),
])
export type RevokeTarget = z.output<typeof RevokeTargetSchema>

/** The edits a batch may hold: every change but whole-document and operational ones. */
const BATCHABLE = [
  z.strictObject({
    type: z.literal('subject.roles'),
    subject: Subject,
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
] as const

/** Most changes one batch may hold. */
export const MAX_BATCH = 10_000

export const BatchableChangeSchema = z.discriminatedUnion('type', [...BATCHABLE])
export type BatchableChange = z.output<typeof BatchableChangeSchema>

/** One edit of the central state. Each is appended to the change log with the next version. */
export const ChangeSchema = z.discriminatedUnion('type', [
  ...BATCHABLE,
  z.strictObject({ type: z.literal('policy.replace'), policy: z.unknown() }),
  /** Operational: the signing key changed; nodes reload their key ring. The document is unchanged. */
  z.strictObject({ type: z.literal('keys.rotated'), kid: Name }),
  /**
   * Many changes applied atomically as one version and one log entry: an import, or an incident
   * ("revoke these 5,000 sessions now"). All or nothing; every live session they affect is
   * re-decided once. See docs/architecture.md, "Policy at scale".
   */
  z.strictObject({
    type: z.literal('batch'),
    changes: z.array(BatchableChangeSchema).min(1).max(MAX_BATCH),
  }),
  /**
   * Written by a node that found the store had lost acknowledged state (emptied, rolled back):
   * the whole document as that node knew it, merged with what the store holds now, so nothing
   * revoked is admitted again. Every node reloads on it. See docs/architecture.md.
   */
  z.strictObject({
    type: z.literal('store.restored'),
    policy: z.unknown(),
    from: z.strictObject({
      epoch: z.string().min(1).max(100),
      version: z.number().int().nonnegative(),
      reason: z.enum(['epoch_changed', 'epoch_missing', 'version_back', 'chain_broken']),
    }),
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
