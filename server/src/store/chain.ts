import { createHash, randomBytes } from 'node:crypto'

/**
 * The change log's continuity. Every entry carries the hash of the entry before it (the store's
 * epoch for the first) and its own hash over `prev`, its version and its serialized body, so a
 * node that has seen entry n can tell whether the entry the store offers as n+1 really follows
 * it — after a restart from an old snapshot the version numbers repeat, the hashes do not.
 *
 * SHA-1 because Redis scripts can compute it (`redis.sha1hex`): this detects lost or rewritten
 * history, it is not a defence against someone who can write to Redis (they can write anything).
 */
export function chainHash(prev: string, version: number, body: string): string {
  return createHash('sha1').update(`${prev}\n${version}\n${body}`).digest('hex')
}

/** A fresh store epoch: created with the store, gone with it when Redis is emptied. */
export function newEpoch(): string {
  return `ep_${randomBytes(12).toString('hex')}`
}
