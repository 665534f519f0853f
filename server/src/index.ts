/**
 * `@vigil-enforcer/server`: the enforcer as a library. `createEnforcer` composes a node; mount its
 * `router`, guard routes with `enforce`, and put a socket.io server under it with
 * `attachRealtime`. Internals (indexes, scripts, caches) are not exported.
 *
 * @module
 */

export { loadConfig } from './config.js'
export type { Config, ConfigResult } from './config.js'

export { createEnforcer } from './enforcer.js'
export type { Enforcer, EnforcerOptions } from './enforcer.js'
export type { TokenRateLimit } from './api/token-route.js'
export type { EnforceOptions, ResourceOf } from './http/enforce.js'
export { sendError } from './http/errors.js'
export { jsonErrors } from './http/json-errors.js'

export { attachRealtime, createSocketServer } from './realtime/attach.js'
export type { Realtime } from './realtime/attach.js'
export { attachServiceFeed } from './realtime/services.js'
export type { ServiceFeedOptions } from './realtime/services.js'
export type { EventRule, EventRules, RateLimit, RealtimeOptions } from './realtime/options.js'

export { startStandalone } from './standalone.js'
export type { Standalone } from './standalone.js'
export { describeStartupFailure } from './startup-failure.js'
export type { StartupFailure } from './startup-failure.js'
export { createLogger } from './logger.js'

export { createMemoryStore } from './store/memory-store.js'
export { createRedisStore } from './store/redis-store.js'
export type { MemoryStoreOptions } from './store/memory-store.js'
export type { RedisStoreOptions } from './store/redis-store.js'
export { createRedisClient, duplicateClient } from './store/redis-connection.js'
export type { HostPort, RedisClient, RedisTopology } from './store/redis-connection.js'
export type {
  ApplyResult,
  LiveSessionInfo,
  LogEntry,
  PolicyStore,
  Snapshot,
  TailEvent,
} from './store/types.js'

export { ChangeSchema, PolicySchema, compilePolicy } from './policy/index.js'
export type {
  Change,
  CompiledPolicy,
  Decision,
  DecisionReason,
  Policy,
  PolicyInput,
  Principal,
} from './policy/index.js'

export type { Authorizer, Denial } from './authorize.js'
