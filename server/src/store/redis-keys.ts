/** Redis key names of one store, all under one hash tag so Lua scripts work on Redis Cluster. */
export interface RedisKeys {
  version: string
  policy: string
  log: string
  keys: string
  currentKid: string
  retirements: string
  refreshPrefix: string
  familyPrefix: string
}

/**
 * @param prefix Namespace of every key; keep the `{…}` hash tag when you change it.
 * @default '{vigil}:'
 */
export function redisKeys(prefix = '{vigil}:'): RedisKeys {
  return {
    version: `${prefix}version`,
    policy: `${prefix}policy`,
    log: `${prefix}log`,
    keys: `${prefix}keys`,
    currentKid: `${prefix}keys:current`,
    retirements: `${prefix}keys:retire`,
    refreshPrefix: `${prefix}rt:`,
    familyPrefix: `${prefix}rf:`,
  }
}
