import type { DecisionRecord } from './audit-log.js'
import {
  asciiJson,
  jsonNumber as num,
  latin1,
  putAscii,
  putBytes,
  putJsonString,
  putMicros,
} from './json-bytes.js'

const actionFragment = (action: string): Uint8Array =>
  latin1(`,"action":${asciiJson(action)},"resource":`)

/** Distinct principals, actions and outcomes whose encoded fragments are kept before starting over. */
const MAX_FRAGMENTS = 10_000

/** Bytes of lines encoded before they are handed over: one write to the file each. */
export const CHUNK_BYTES = 64 * 1024

/** Written buffers kept for reuse; more are allocated while the disk lags, and then dropped. */
const MAX_SPARES = 4

/** The longest number a line holds: `String()` of any double fits in 24 characters. */
const NUMBER_MAX = 24

/** More than a line's fixed parts and numbers can take (each number fits in NUMBER_MAX). */
const FIXED_MAX = 256

const END = latin1(',"event":"decision"}\n')
const EMPTY: Uint8Array = Buffer.alloc(0)

interface PrincipalFragment {
  transport: string
  sub: string | undefined
  sid: string | undefined
  bytes: Uint8Array
}

/**
 * Encodes decision lines — exactly the line `logger.info(record, 'decision')` writes: the same
 * keys in the same order, undefined fields left out — as bytes, straight into the buffer that is
 * then written to the audit file. The per-message path builds no string: pino's generic
 * serializer cost several times the line itself, and even a hand-built line string cost more to
 * concatenate and then flatten into bytes than the rest of the decision.
 *
 * Where pino's bytes differ, it is still the same JSON: every character outside printable ASCII
 * that JSON may leave raw (DEL, any non-ASCII character, a lone surrogate) is `\u`-escaped, so a
 * line is pure ASCII.
 *
 * What repeats is encoded once and kept: a principal's `node`…`jti` fragment (keyed by its token
 * id, the same string object on every decision), each kept action's (`keepAction`: the actions
 * rules and routes map to), each outcome's (`allow`/`reason`/`rule`), the current millisecond's
 * timestamp and the policy version. A message then costs a few small copies, its resource, and
 * its duration's digits. Any other action (a name a client made up, a decision API query's) is
 * encoded on its line and not kept: a client choosing names must not choose what stays in memory.
 *
 * @example
 * ```ts
 * const lines = new DecisionLines(30, 'node-a', (chunk) => file.write(chunk))
 * lines.append({ transport: 'http', sub: 'alice', action: 'doc:read', resource: 'doc/1', ... })
 * lines.take() // <Buffer '{"level":30,"time":…,"node":"node-a","log":"audit","transport":"http",…}\n'>
 * ```
 */
export class DecisionLines {
  /**
   * Where lines are encoded. A full one is handed over as it is and a spare takes its place; the
   * writer gives it back (`recycle`) once the file has it. Buffers are reused for the life of the
   * log: a fresh 64 KB buffer per hand-over cost page faults to fill and then freeing, and ones
   * that lived until written reached the old generation and cost major collections.
   */
  private buf: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES)
  private readonly spares: Buffer[] = []
  private pos = 0
  /**
   * `{"level":30,"time":<ms>` for the current millisecond, rewritten in place when the
   * millisecond changes: no allocation per line, nor per millisecond.
   */
  private readonly headTime: Buffer
  private readonly headLength: number
  private headTimeLength = 0
  private readonly base: string
  private readonly principals = new Map<string, PrincipalFragment>()
  /** Fragments of the kept actions only (see `keepAction`). */
  private readonly actions = new Map<string, Uint8Array>()
  /** allow → reason → rule → fragment. */
  private readonly outcomes = [
    new Map<string, Map<string | undefined, Uint8Array>>(),
    new Map<string, Map<string | undefined, Uint8Array>>(),
  ] as const
  private readonly last = {
    // `undefined` equals no action or reason, so the first line always looks its fragments up.
    action: undefined as string | undefined,
    actionBytes: EMPTY,
    reason: undefined as string | undefined,
    rule: undefined as string | undefined,
    allow: false,
    outcomeBytes: EMPTY,
  }
  private time = Number.NaN
  /** `<version>,"durationUs":` for the last policy version seen. */
  private version = Number.NaN
  private versionBytes = EMPTY

  /** `onFull` receives the lines of a buffer that has no room for the next one. */
  constructor(
    level: number,
    nodeId: string,
    private readonly onFull: (chunk: Buffer) => void,
  ) {
    const head = latin1(`{"level":${level},"time":`)
    this.headLength = head.length
    this.headTime = Buffer.alloc(head.length + NUMBER_MAX)
    this.headTime.set(head)
    this.base = `,"node":${asciiJson(nodeId)},"log":"audit"`
  }

  append(r: DecisionRecord): void {
    const principal = this.principalBytes(r)
    const action = this.actionBytes(r.action)
    const outcome = this.outcomeBytes(r.allow, r.reason, r.rule)
    const { resource } = r
    // Worst case: every UTF-16 unit of the resource escaped as `\uXXXX`.
    const most = FIXED_MAX + principal.length + action.length + outcome.length + resource.length * 6
    if (this.buf.length - this.pos < most) this.renew(most)
    const buf = this.buf
    let pos = this.putHeadTime(buf, this.pos, r.time ?? Date.now())
    pos = putBytes(buf, pos, principal)
    pos = putBytes(buf, pos, action)
    pos = putJsonString(buf, pos, resource)
    pos = putBytes(buf, pos, outcome)
    pos = putBytes(buf, pos, this.versionOf(r.version))
    pos = putMicros(buf, pos, r.durationUs)
    this.pos = putBytes(buf, pos, END)
  }

  /**
   * The lines appended since the last hand-over; none → undefined. The chunk's memory is the
   * caller's until it hands it back with `recycle`; if it never does, nothing is overwritten.
   */
  take(): Buffer | undefined {
    if (this.pos === 0) return undefined
    const chunk = this.buf.subarray(0, this.pos)
    this.buf = this.spares.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)
    this.pos = 0
    return chunk
  }

  /** Gives back a chunk from `take` once it is written: its buffer is encoded into again. */
  recycle(chunk: Buffer): void {
    const memory = chunk.buffer
    // Only whole standard buffers, and only a few: a line longer than a buffer got its own.
    if (memory.byteLength !== CHUNK_BYTES || this.spares.length >= MAX_SPARES) return
    this.spares.push(Buffer.from(memory, 0, CHUNK_BYTES))
  }

  /** Hands over what is pending, and grows the buffer if one line needs more than it holds. */
  private renew(most: number): void {
    const chunk = this.take()
    if (chunk) this.onFull(chunk)
    if (this.buf.length < most) this.buf = Buffer.allocUnsafeSlow(most)
  }

  /**
   * Copies the whole of `headTime`, then moves on by its used length: the bytes past it are
   * overwritten by the rest of the line (FIXED_MAX leaves room for them).
   */
  private putHeadTime(buf: Uint8Array, pos: number, time: number): number {
    if (time !== this.time) {
      this.time = time
      this.headTimeLength = putAscii(this.headTime, this.headLength, num(time))
    }
    buf.set(this.headTime, pos)
    return pos + this.headTimeLength
  }

  private versionOf(version: number): Uint8Array {
    if (version !== this.version) {
      this.version = version
      this.versionBytes = latin1(`${num(version)},"durationUs":`)
    }
    return this.versionBytes
  }

  private principalBytes(r: DecisionRecord): Uint8Array {
    const { jti } = r
    if (jti === undefined) return latin1(this.principalText(r))
    let known = this.principals.get(jti)
    if (
      known === undefined ||
      known.transport !== r.transport ||
      known.sub !== r.sub ||
      known.sid !== r.sid
    ) {
      if (this.principals.size >= MAX_FRAGMENTS) this.principals.clear()
      const bytes = latin1(this.principalText(r))
      known = { transport: r.transport, sub: r.sub, sid: r.sid, bytes }
      this.principals.set(jti, known)
    }
    return known.bytes
  }

  private principalText(r: DecisionRecord): string {
    let text = `${this.base},"transport":${asciiJson(r.transport)}`
    if (r.sub !== undefined) text += `,"sub":${asciiJson(r.sub)}`
    if (r.sid !== undefined) text += `,"sid":${asciiJson(r.sid)}`
    if (r.jti !== undefined) text += `,"jti":${asciiJson(r.jti)}`
    return text
  }

  /**
   * Keeps `action`'s fragment for every later line. For actions named in code (event rules,
   * routes), which are few; past MAX_FRAGMENTS more are encoded per line instead.
   */
  keepAction(action: string): void {
    if (this.actions.has(action) || this.actions.size >= MAX_FRAGMENTS) return
    this.actions.set(action, actionFragment(action))
  }

  /** How many action fragments are kept (for tests: it must not grow with client input). */
  get keptActions(): number {
    return this.actions.size
  }

  private actionBytes(action: string): Uint8Array {
    // Most lines repeat the last line's action and outcome: a compare, not a hash lookup.
    if (action === this.last.action) return this.last.actionBytes
    const bytes = this.actions.get(action) ?? actionFragment(action)
    this.last.action = action
    this.last.actionBytes = bytes
    return bytes
  }

  /** `,"allow":…,"reason":…[,"rule":…],"version":` */
  private outcomeBytes(allow: boolean, reason: string, rule: string | undefined): Uint8Array {
    const last = this.last
    if (reason === last.reason && rule === last.rule && allow === last.allow) {
      return last.outcomeBytes
    }
    const byReason = this.outcomes[allow ? 1 : 0]
    let byRule = byReason.get(reason)
    if (byRule === undefined) {
      if (byReason.size >= MAX_FRAGMENTS) byReason.clear()
      byReason.set(reason, (byRule = new Map()))
    }
    let bytes = byRule.get(rule)
    if (bytes === undefined) {
      if (byRule.size >= MAX_FRAGMENTS) byRule.clear()
      let text = `,"allow":${allow},"reason":${asciiJson(reason)}`
      if (rule !== undefined) text += `,"rule":${asciiJson(rule)}`
      bytes = latin1(`${text},"version":`)
      byRule.set(rule, bytes)
    }
    last.reason = reason
    last.rule = rule
    last.allow = allow
    last.outcomeBytes = bytes
    return bytes
  }
}
