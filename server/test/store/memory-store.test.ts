import { createMemoryStore } from '../../src/store/memory-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import { testPolicyStore } from './contract.js'

let last: PolicyStore | null = null

testPolicyStore('memory', {
  async create(options) {
    last = createMemoryStore({ ...options })
    return last
  },
  async peer() {
    if (!last) throw new Error('create() first')
    return last
  },
  async disrupt() {},
  async cleanup() {
    await last?.close()
  },
})
