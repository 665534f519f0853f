import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import type { Authorizer } from '../authorize.js'
import type { LivePolicy } from '../live-policy.js'
import type { Metrics } from '../metrics.js'
import type { LiveSessionInfo, PolicyStore } from '../store/types.js'
import type { KeyRing, SessionTokens } from '../tokens/index.js'

export type { LiveSessionInfo } from '../store/types.js'

/** Where the API finds live sessions across all nodes (the realtime layer provides it). */
export interface SessionDirectory {
  list(): Promise<LiveSessionInfo[]>
}

/** Everything the API routes need, composed once by `createEnforcer`. */
export interface ApiDeps {
  apiKey: string
  /** Accept the key with this hex SHA-256 instead: the deployment's shared development key. */
  apiKeySha256?: string | undefined
  issuer: string
  store: PolicyStore
  live: LivePolicy
  authorizer: Authorizer
  keyRing: KeyRing
  sessions: SessionTokens
  audit: AuditLog
  metrics: Metrics
  directory: SessionDirectory
  logger: Logger
  /** Decision time one batch of `POST /v1/decisions` may use, ms. @default 500 */
  decisionBudgetMs?: number
}
