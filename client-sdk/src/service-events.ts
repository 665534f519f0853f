/**
 * The service client's typed events and the small emitter behind `service.on()`.
 *
 * @module
 */
import { createTypedEmitter, type TypedEmitter } from './typed-emitter.js'
import type { ResyncEvent, ServiceRevokedEvent, ServiceStepEvent, VigilError } from './protocol.js'

/** The feed is connected and this client's watch set is subscribed. */
export interface ServiceConnectEvent {
  /** The enforcer's policy version when it acknowledged the subscription. */
  version: number
  /** The version the client resumed after; absent on a fresh start with nothing to resume. */
  since?: number
}

export interface ServiceDisconnectEvent {
  /** socket.io's reason: `transport close`, `io server disconnect`, `ping timeout`, … */
  reason: string
}

/** Every event of a service client and its payload. */
export interface ServiceEventMap {
  /** A watched subject, session or token was revoked. */
  revoked: ServiceRevokedEvent
  /** A watched subject lost permissions. */
  'step-down': ServiceStepEvent
  /** A watched subject gained permissions. */
  'step-up': ServiceStepEvent
  /**
   * The enforcer could not replay what was missed (or the whole policy was replaced): re-check
   * the state of everything watched, for example by deciding again.
   */
  resync: ResyncEvent
  /** Connected (again) and subscribed; missed changes, if any, follow. */
  connect: ServiceConnectEvent
  /** The feed dropped; the client reconnects by itself unless it was closed. */
  disconnect: ServiceDisconnectEvent
  /** A refused connection (`unauthorized`), a refused subscription, or a throwing handler. */
  error: VigilError
}

export type ServiceEventName = keyof ServiceEventMap
export type ServiceHandler<E extends ServiceEventName> = (event: ServiceEventMap[E]) => void

/** @internal */
export type ServiceEmitter = TypedEmitter<ServiceEventMap>

/**
 * The service client's emitter: a handler that throws is reported through `onHandlerError` and
 * the other handlers still run.
 *
 * @internal
 * @example
 * ```ts
 * const emitter = createServiceEmitter((event, err) => debug('handler threw', { event, err }))
 * emitter.on('revoked', (e) => cancelJobsOf(e.subject))
 * ```
 */
export function createServiceEmitter(
  onHandlerError: (event: ServiceEventName, err: unknown) => void,
): ServiceEmitter {
  return createTypedEmitter<ServiceEventMap>(onHandlerError)
}
