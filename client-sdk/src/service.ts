/**
 * `@vigil-enforcer/client/service`: the client for backend services — decisions over the service socket
 * or `POST /v1/decisions`, and the revocation feed with resume. It holds the service API key, so
 * it is a separate entry point that never ends up in the browser bundle.
 *
 * @module
 */

export { createServiceClient } from './service-client.js'
export type { ServiceClient, ServiceClientOptions } from './service-client.js'
export type { DecisionAnswer } from './service-decide.js'
export type {
  ServiceConnectEvent,
  ServiceDisconnectEvent,
  ServiceEventMap,
  ServiceEventName,
  ServiceHandler,
} from './service-events.js'
export type { WatchTargets } from './service-watch.js'

export { MAX_POLICY_BATCH, VigilError, isErrorCode } from './protocol.js'
export type {
  AppliedChanges,
  PolicyChange,
  DecisionBody,
  DecisionQuery,
  ErrorCode,
  ResyncEvent,
  ServiceRevokedEvent,
  ServiceStepEvent,
} from './protocol.js'
