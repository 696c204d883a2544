/**
 * Which webhook targets may be called. A callback URL is user input, so without a policy it
 * would let any API client make the server call its own loopback services, the private network
 * or the cloud metadata endpoint (SSRF).
 *
 * The check runs twice: on the URL when a task is submitted (scheme, credentials, literal
 * addresses, `localhost`), and on every address DNS returns at connection time, through the
 * `lookup` the HTTP request uses. Checking at connection time is what defeats DNS rebinding: the
 * address that was checked is the address that is dialled.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface TargetPolicy {
  /** Allow 127.0.0.0/8, ::1 and `localhost`. @default false */
  allowLoopback: boolean;
  /** Allow private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). @default false */
  allowPrivate: boolean;
}

export type AddressClass = 'public' | 'loopback' | 'private' | 'link_local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

function blockList(ranges: Array<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const classes: Array<[Exclude<AddressClass, 'public'>, BlockList]> = [
  ['metadata', (() => {
    const list = new BlockList();
    for (const address of ['169.254.169.254', '169.254.170.2', '100.100.100.200']) list.addAddress(address, 'ipv4');
    list.addAddress('fd00:ec2::254', 'ipv6');
    return list;
  })()],
  ['loopback', blockList([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']])],
  ['unspecified', blockList([['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']])],
  ['link_local', blockList([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']])],
  ['private', blockList([['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['fc00::', 7, 'ipv6']])],
  ['multicast', blockList([['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']])],
  ['reserved', blockList([
    ['240.0.0.0', 4, 'ipv4'], ['192.0.0.0', 24, 'ipv4'], ['192.0.2.0', 24, 'ipv4'], ['198.18.0.0', 15, 'ipv4'],
    ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['64:ff9b::', 96, 'ipv6'], ['2001:db8::', 32, 'ipv6'], ['100::', 64, 'ipv6'],
  ])],
];

/** What kind of address `address` is. IPv4-mapped IPv6 addresses are judged as their IPv4. */
export function classifyAddress(address: string): AddressClass {
  let candidate = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(candidate);
  if (mapped) candidate = mapped[1]!;
  const family = isIP(candidate);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [name, list] of classes) if (list.check(candidate, type)) return name;
  return 'public';
}

export function isAllowedAddress(address: string, policy: TargetPolicy): boolean {
  const kind = classifyAddress(address);
  return kind === 'public' || (kind === 'loopback' && policy.allowLoopback) || (kind === 'private' && policy.allowPrivate);
}

export class TargetRefusedError extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.name = 'TargetRefusedError';
    this.reason = reason;
  }
}

/**
 * Checks a callback URL without DNS: http(s) only, no credentials, and a literal address or
 * `localhost` only when the policy allows it. Returns the reason it is refused, or undefined.
 */
export function refuseUrl(url: string, policy: TargetPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `scheme ${parsed.protocol} is not allowed; use http or https`;
  if (parsed.username || parsed.password) return 'credentials in the URL are not allowed';
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return policy.allowLoopback ? undefined : 'loopback targets are not allowed (TASKLOOM_WEBHOOK_ALLOW_LOOPBACK)';
  }
  if (isIP(host) !== 0 || /^::ffff:/i.test(host)) {
    const kind = classifyAddress(host);
    if (!isAllowedAddress(host, policy)) return `${kind.replace('_', '-')} address ${host} is not allowed`;
  }
  return undefined;
}

/**
 * A `lookup` for http.request that resolves the host and fails the connection when any address
 * it resolves to is refused by the policy.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      const list = addresses as LookupAddress[];
      const refused = list.find((entry) => !isAllowedAddress(entry.address, policy));
      if (refused || list.length === 0) {
        const reason = refused ? `${hostname} resolves to ${classifyAddress(refused.address).replace('_', '-')} address ${refused.address}, which is not allowed` : `${hostname} did not resolve`;
        callback(new TargetRefusedError(reason), '', 0);
        return;
      }
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
