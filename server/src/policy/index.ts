/**
 * The policy module: the document schema, changes to it, and its compiled, versioned form that
 * decides requests. No I/O here; the store persists documents and the session layer re-decides.
 *
 * @module
 */

export {
  ChangeSchema,
  MAX_SUBJECT,
  Name,
  Pattern,
  PermissionSchema,
  PolicySchema,
  RevocationsSchema,
  RevokeTargetSchema,
  RoleSchema,
  RuleSchema,
  Subject,
  emptyPolicy,
  formatIssues,
  subjectProblem,
} from './schema.js'
export type {
  Change,
  Policy,
  PolicyInput,
  Revocations,
  RevokeTarget,
  Role,
  Rule,
} from './schema.js'

export { affectedBy, applyChange, parseChange } from './changes.js'
export type { Affected, ChangeRejection, ChangeResult } from './changes.js'

export { ISSUER_SEPARATOR } from './principal.js'
export type { Principal } from './principal.js'

export { compilePolicy } from './compile.js'
export { isSubjectKey } from './principal-view.js'
export type { CompiledPolicy } from './compile.js'
export type { Decision, DecisionReason } from './decide.js'
export type { RevocationHit, RevocationReason } from './revocation.js'

export { compileAnyPattern, compilePattern, matchPattern } from './pattern.js'
export type { Matcher } from './pattern.js'
