/**
 * The policy module: the document schema, changes to it, and its compiled, versioned form that
 * decides requests. No I/O here; the store persists documents and the session layer re-decides.
 *
 * @module
 */

export {
  BatchableChangeSchema,
  ChangeSchema,
  MAX_BATCH,
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
  BatchableChange,
  Change,
  Policy,
  PolicyInput,
  Revocations,
  RevokeTarget,
  Role,
  Rule,
} from './schema.js'

export { applyChange, parseChange } from './changes.js'
export type { ChangeRejection, ChangeResult } from './changes.js'
export { affectedBy } from './affected.js'
export type { Affected } from './affected.js'
export { isPolicyState, toPolicy, toState } from './state.js'
export type { PolicyState, Section } from './state.js'
export type { Touched } from './touched.js'

export { ISSUER_SEPARATOR } from './principal.js'
export type { Principal } from './principal.js'

export { compilePolicy } from './compile.js'
export { isSubjectKey } from './principal-view.js'
export type { CompiledPolicy } from './compile.js'
export type { Decision, DecisionReason } from './decide.js'
export type { RevocationHit, RevocationReason } from './revocation.js'

export { compileAnyPattern, compilePattern, matchPattern } from './pattern.js'
export type { Matcher } from './pattern.js'
