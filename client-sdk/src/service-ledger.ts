/**
 * What the service feed has delivered: the version to resume from after a reconnect, and the
 * defence against delivering one change twice.
 *
 * @module
 * @internal
 */

export interface DeliveryLedger {
  /**
   * The version to resume after: every change up to it was delivered, or provably did not
   * concern this client. Undefined until the first subscription (or a `since` option).
   */
  readonly lastVersion: number | undefined
  /**
   * Records a feed event for `target` (`revoked:subject:alice`, …) and says whether it is new.
   * One version can carry several events, for different targets, so the pair is the identity.
   */
  admit(version: number, target: string): boolean
  /**
   * Everything up to `version` has been delivered: an acknowledgement the enforcer sent after
   * the events it had for this subscription, on the same connection, so nothing older is missing.
   */
  confirm(version: number): void
}

/**
 * The enforcer sends feed events in version order on a connection, and a resumed subscription
 * only replays versions after `lastVersion`, so one high-water mark plus the targets seen at
 * exactly that version is enough to refuse every duplicate — in constant memory, however many
 * subjects a service watches.
 *
 * @example
 * ```ts
 * const ledger = createDeliveryLedger(undefined)
 * if (ledger.admit(event.version, `revoked:subject:${event.subject}`)) emit('revoked', event)
 * socket.emit('vigil:subscribe', { subjects, since: ledger.lastVersion })
 * ```
 */
export function createDeliveryLedger(since: number | undefined): DeliveryLedger {
  // Confirmed by an acknowledgement (or given by the caller): no event at or below it is new.
  let confirmed = since ?? -1
  // The newest delivered event's version, and the targets delivered at exactly that version.
  let top = -1
  const atTop = new Set<string>()

  return {
    get lastVersion() {
      const v = Math.max(confirmed, top)
      return v < 0 ? undefined : v
    },
    admit(version, target) {
      if (version <= confirmed || version < top) return false
      if (version === top) {
        if (atTop.has(target)) return false
        atTop.add(target)
        return true
      }
      top = version
      atTop.clear()
      atTop.add(target)
      return true
    },
    confirm(version) {
      if (version > confirmed) confirmed = version
    },
  }
}
