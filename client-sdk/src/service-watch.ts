/**
 * The subjects and sessions a service watches, reference-counted so that two jobs of one user
 * can each watch and unwatch her without stepping on each other.
 *
 * @module
 * @internal
 */
import type { ServiceRevokedEvent, ServiceStepEvent, SubscribePayload } from './protocol.js'

/** What to watch on the service feed. Calls add up; `unwatch` takes back what `watch` added. */
export interface WatchTargets {
  subjects?: readonly string[]
  sessions?: readonly string[]
  /** Every change, for every subject, session and token. */
  all?: boolean
}

export interface WatchSet {
  add(targets: WatchTargets): void
  remove(targets: WatchTargets): void
  /** The subscription the enforcer should hold now (without `since`). */
  payload(): SubscribePayload
  /** Whether an event concerns what is watched now (a late event of an unwatched target does not). */
  matches(event: ServiceRevokedEvent | ServiceStepEvent): boolean
}

/** A subject or session id as the enforcer accepts it; anything else is a programming error. */
const NAME = /^[^\s*]{1,200}$/

/**
 * Checks targets at the call site, so a typo throws a `TypeError` where it was made instead of
 * breaking the whole subscription later.
 */
export function checkTargets(targets: WatchTargets, where: string): void {
  if (typeof targets !== 'object' || targets === null) {
    throw new TypeError(`${where}: expected { subjects?, sessions?, all? }`)
  }
  for (const key of ['subjects', 'sessions'] as const) {
    const list = targets[key]
    if (list === undefined) continue
    if (!Array.isArray(list)) throw new TypeError(`${where}: ${key} must be an array of names`)
    for (const name of list) {
      if (typeof name !== 'string' || !NAME.test(name)) {
        throw new TypeError(`${where}: ${key} holds an invalid name ${JSON.stringify(name)}`)
      }
    }
  }
  if (targets.all !== undefined && typeof targets.all !== 'boolean') {
    throw new TypeError(`${where}: all must be a boolean`)
  }
}

/**
 * A reference-counted watch set.
 *
 * @example
 * ```ts
 * const set = createWatchSet()
 * set.add({ subjects: ['alice'] })
 * socket.emit('vigil:subscribe', set.payload())
 * ```
 */
export function createWatchSet(): WatchSet {
  const subjects = new Map<string, number>()
  const sessions = new Map<string, number>()
  let all = 0

  const bump = (map: Map<string, number>, names: readonly string[] | undefined, by: 1 | -1) => {
    for (const name of names ?? []) {
      const n = (map.get(name) ?? 0) + by
      if (n > 0) map.set(name, n)
      else map.delete(name)
    }
  }

  return {
    add(targets) {
      bump(subjects, targets.subjects, 1)
      bump(sessions, targets.sessions, 1)
      if (targets.all) all += 1
    },
    remove(targets) {
      bump(subjects, targets.subjects, -1)
      bump(sessions, targets.sessions, -1)
      if (targets.all && all > 0) all -= 1
    },
    payload() {
      const out: SubscribePayload = {}
      if (all > 0) out.all = true
      if (subjects.size > 0) out.subjects = [...subjects.keys()].sort()
      if (sessions.size > 0) out.sessions = [...sessions.keys()].sort()
      return out
    },
    matches(event) {
      if (all > 0) return true
      if ('session' in event && event.session !== undefined) return sessions.has(event.session)
      if (event.subject !== undefined) return subjects.has(event.subject)
      return false
    },
  }
}

/** The identity of a feed event's target, for de-duplication. */
export function targetKey(kind: string, event: ServiceRevokedEvent | ServiceStepEvent): string {
  if ('session' in event && event.session !== undefined) return `${kind}:session:${event.session}`
  if ('jti' in event && event.jti !== undefined) return `${kind}:jti:${event.jti}`
  return `${kind}:subject:${event.subject ?? ''}`
}

/** Same subscription, whatever the order its names were added in. */
export function samePayload(a: SubscribePayload | null, b: SubscribePayload): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b)
}
