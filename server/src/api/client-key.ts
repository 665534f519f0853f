import { isIPv6 } from 'node:net'

/**
 * The key a client's requests are counted under: its IPv4 address, or the /64 an IPv6 address
 * belongs to — one host is routinely handed a whole /64, so counting single IPv6 addresses would
 * give every client 2^64 budgets. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as the
 * IPv4 address it maps.
 *
 * @example
 * ```ts
 * clientKey('192.0.2.7') // '192.0.2.7'
 * clientKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * ```
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return ''
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!isIPv6(address)) return address
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  // `::` stands for as many zero groups as make eight.
  const groups =
    tail === undefined
      ? front
      : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
