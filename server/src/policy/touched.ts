/**
 * What a change wrote, entry by entry, so that the store persists only those entries and a
 * change costs O(change) end to end. A whole-document change (replace, restore) says `all`.
 *
 * @module
 */

import type { MapSection, MetaSection } from './state.js'

export interface Touched {
  /** The whole document was replaced: the store must rewrite every section. */
  all: boolean
  /** Small sections written whole. */
  readonly meta: Set<MetaSection>
  /** Keys set or deleted, per persistent section (the value now in the state says which). */
  readonly entries: Map<MapSection, Set<string>>
}

export function createTouched(): Touched {
  return { all: false, meta: new Set(), entries: new Map() }
}

export function touchMeta(touched: Touched, section: MetaSection): void {
  touched.meta.add(section)
}

export function touchEntry(touched: Touched, section: MapSection, key: string): void {
  let keys = touched.entries.get(section)
  if (keys === undefined) touched.entries.set(section, (keys = new Set()))
  keys.add(key)
}

export function touchAll(touched: Touched): void {
  touched.all = true
}
