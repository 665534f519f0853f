import assert from 'node:assert/strict'
import { openSync, readSync, closeSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileDestination } from '../../src/audit/file-destination.js'

/** The `length` bytes of `file` at `offset`, read at once (what the disk has now). */
function bytesAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const out = Buffer.alloc(length)
    const n = readSync(fd, out, 0, length, offset)
    return out.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

test('a chunk is reported written only once the file holds all of it, in the order given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-dest-'))
  try {
    const file = join(dir, 'audit.log')
    const reported: { chunk: Buffer; onDisk: Buffer }[] = []
    const offsets = new Map<Buffer, number>()
    const dest = fileDestination(file, (chunk) => {
      // Read while still inside the report: the bytes must already be in the file.
      reported.push({ chunk, onDisk: bytesAt(file, offsets.get(chunk)!, chunk.length) })
    })
    // Chunks of many sizes (some merged by the destination into one write, some written alone),
    // with pino-style string lines between them.
    const chunks: Buffer[] = []
    let offset = 0
    for (let i = 0; i < 40; i++) {
      const size = [300, 5_000, 17_000, 64 * 1024][i % 4]!
      const chunk = Buffer.alloc(size, 97 + (i % 26))
      chunks.push(chunk)
      offsets.set(chunk, offset)
      dest.writeChunk(chunk)
      offset += size
      const line = `{"event":"admin_change","i":${i}}\n`
      dest.write(line)
      offset += Buffer.byteLength(line)
    }
    await new Promise<void>((resolve) => dest.flush(resolve))

    assert.equal(reported.length, chunks.length, 'every chunk is reported once')
    reported.forEach(({ chunk, onDisk }, i) => {
      assert.equal(chunk, chunks[i], `chunk ${i} reported in order`)
      assert.ok(onDisk.equals(chunk), `chunk ${i} was whole in the file when reported`)
    })
    assert.equal((await readFile(file)).length, offset, 'nothing lost or duplicated')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
