import { pino } from 'pino'

export interface FileDestination {
  /** A line pino formatted (an admin change). */
  write(line: string): boolean
  /** Encoded decision lines; `onWritten(chunk)` is called once the file has all of them. */
  writeChunk(chunk: Buffer): void
  /** Calls back once everything handed over before the call is written. */
  flush(cb: () => void): void
}

/**
 * pino's asynchronous file (or stdout) destination, sonic-boom, in buffer mode, plus a ledger
 * that says when a chunk handed to it has been written, so that its buffer can be reused.
 *
 * Every `fs.write` costs tens of microseconds of the event loop whatever its size, so lines are
 * written 16–64 KB at a time; in its default (utf8) mode the destination measures the whole chunk
 * a line joins on every append, which at such sizes cost more than the line. A quiet node's lines
 * still reach the file within a second. On exit, pino flushes whatever is buffered.
 *
 * The ledger: sonic-boom writes the bytes it is given strictly in order (merging or splitting
 * them into `fs.write` calls as it likes) and reports each write's byte count as a `write` event.
 * A chunk is therefore done with once the reported total reaches the offset of its last byte. A
 * write that fails for good stops the reports: its chunks are then never reused, which costs only
 * fresh buffers, never an overwritten line.
 *
 * @example
 * ```ts
 * const file = fileDestination('/var/log/vigil-audit.log', (chunk) => lines.recycle(chunk))
 * file.writeChunk(lines.take()!)
 * ```
 */
export function fileDestination(
  file: string | undefined,
  onWritten: (chunk: Buffer) => void,
): FileDestination {
  const boom = pino.destination({
    dest: file ?? 1,
    sync: false,
    contentMode: 'buffer',
    minLength: 16 * 1024,
    maxWrite: 64 * 1024,
    periodicFlush: 1000,
    mkdir: true,
  })
  // Bytes handed over and bytes reported written, since the start; the chunks in between, each
  // with the total at its last byte, oldest first.
  let handed = 0
  let written = 0
  const pending: { chunk: Buffer; end: number }[] = []
  boom.on('write', (n: number) => {
    written += n
    while (pending.length > 0 && pending[0]!.end <= written) onWritten(pending.shift()!.chunk)
  })
  // Typed for strings only; in buffer mode it takes (and must be given) Buffers.
  const put = (bytes: Buffer): boolean => {
    handed += bytes.length
    return boom.write(bytes as unknown as string)
  }
  return {
    write: (line) => put(Buffer.from(line)),
    writeChunk(chunk) {
      pending.push({ chunk, end: handed + chunk.length })
      put(chunk)
    },
    flush(cb) {
      // sonic-boom calls back once what is left is below `minLength`, not once it is all
      // written: ask again until the ledger says every byte handed over so far is out. A write
      // that failed for good ends the wait too (an 'error' is reported by the destination), and
      // so does a round that wrote nothing: bytes never reported must not keep it asking.
      const until = handed
      let seen = -1
      const again = (err?: Error): void => {
        if (err || written >= until || written === seen) return cb()
        seen = written
        boom.flush(again)
      }
      boom.flush(again)
    },
  }
}
