/**
 * The line between the tabs of one session: a BroadcastChannel named `vigil:<session_id>`.
 * A revocation seen by one tab tears down all of them, even a tab whose socket is asleep, and
 * renewed tokens reach every tab so none of them spends a refresh token another already spent.
 *
 * @module
 * @internal
 */
import type { HeldTokens } from './held-tokens.js'
import type { RevokedEvent } from './protocol.js'

/** What tabs of one session tell each other. Tokens never leave the origin (same-origin API). */
export type TabMessage =
  | { type: 'tokens'; tokens: HeldTokens }
  | { type: 'revoked'; event: RevokedEvent }
  | { type: 'expired'; message: string }

export interface TabChannel {
  post(message: TabMessage): void
  close(): void
}

const noChannel: TabChannel = { post() {}, close() {} }

/**
 * Opens the channel of `sessionId`; a no-op channel where the platform has no BroadcastChannel.
 *
 * @example
 * ```ts
 * const tabs = openTabChannel(sid, (m) => m.type === 'revoked' && teardown('revoked', m.event))
 * tabs.post({ type: 'revoked', event })
 * ```
 */
export function openTabChannel(
  sessionId: string,
  onMessage: (message: TabMessage) => void,
): TabChannel {
  if (typeof BroadcastChannel !== 'function') return noChannel
  const channel = new BroadcastChannel(`vigil:${sessionId}`)
  // Node keeps the event loop alive for an open channel; a client must not do that on its own.
  ;(channel as { unref?: () => void }).unref?.()
  channel.onmessage = (e: MessageEvent) => {
    const message = e.data as Partial<TabMessage> | null
    if (message && typeof message === 'object' && typeof message.type === 'string') {
      onMessage(message as TabMessage)
    }
  }
  let closed = false
  return {
    post(message) {
      if (closed) return
      try {
        channel.postMessage(message)
      } catch {
        // A message that cannot be cloned or a closing page: the other tabs' sockets still tell them.
      }
    },
    close() {
      if (closed) return
      closed = true
      channel.onmessage = null
      channel.close()
    },
  }
}
