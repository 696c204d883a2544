/**
 * Which webhook targets may be called. A callback URL is user input, so without a policy it
 * would let any API client make the server call its own loopback services, the private network
 * or the cloud metadata endpoint (SSRF).
 *
 * The check runs twice: on the URL when a task is submitted (scheme, credentials, literal
 * addresses in every notation, `localhost`), and at connection time: a literal address again
 * (Node dials literals without calling `lookup`), and every address of every family DNS returns
 * for a name, through the `lookup` the HTTP request uses. Checking at connection time is what defeats DNS rebinding: the
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

/** The 16 bytes of an IPv6 address (with or without brackets, a trailing dotted quad allowed). */
function ipv6Bytes(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/**
 * The IPv4 address an IPv6 address carries and is routed to: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d, deprecated but still dialled as IPv4 by some stacks, and what
 * `[::127.0.0.1]` is) and 6to4 (2002:AABB:CCDD::). Judging these by their IPv6 form would let
 * `[::127.0.0.1]` pass as a public address.
 */
function embeddedIpv4(bytes: number[]): string | undefined {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((byte) => byte === 0);
  const quad = (from: number): string => bytes.slice(from, from + 4).join('.');
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return quad(12);
  // ::/96 except :: and ::1, which are classified as themselves.
  if (zeros(0, 12) && !zeros(12, 15)) return quad(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2);
  return undefined;
}

/**
 * What kind of address `address` is: an IPv4 literal, or IPv6 in any notation (brackets, mapped,
 * compatible and 6to4 forms are judged by the IPv4 address they carry). Anything that is not an
 * IP literal is `reserved`.
 */
export function classifyAddress(address: string): AddressClass {
  let candidate = address.replace(/^\[|\]$/g, '');
  const family = isIP(candidate);
  if (family === 0) return 'reserved';
  if (family === 6) {
    const embedded = embeddedIpv4(ipv6Bytes(candidate)!);
    if (embedded !== undefined) candidate = embedded;
  }
  const type = isIP(candidate) === 4 ? 'ipv4' : 'ipv6';
  for (const [name, list] of classes) if (list.check(candidate, type)) return name;
  return 'public';
}

export function isAllowedAddress(address: string, policy: TargetPolicy): boolean {
  const kind = classifyAddress(address);
  return kind === 'public' || (kind === 'loopback' && policy.allowLoopback) || (kind === 'private' && policy.allowPrivate);
}

/** What an operator sets to allow a kind of address (the others are never allowed). */
const allowedBy: Partial<Record<AddressClass, string>> = {
  loopback: '; set TASKLOOM_WEBHOOK_ALLOW_LOOPBACK=true to allow it (receivers on this machine)',
  private: '; set TASKLOOM_WEBHOOK_ALLOW_PRIVATE=true to allow it (receivers on a private network)',
};

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
  // The URL parser already turns decimal, hex and octal IPv4 (2130706433, 0x7f000001, 0177.1)
  // into dotted form; a trailing dot (`localhost.`) is the same name in DNS, so it goes too.
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return policy.allowLoopback ? undefined : `loopback targets are not allowed${allowedBy.loopback}`;
  }
  if (isIP(host) !== 0) {
    const kind = classifyAddress(host);
    if (!isAllowedAddress(host, policy)) return `${kind.replace('_', '-')} address ${host} is not allowed${allowedBy[kind] ?? ''}`;
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
        const kind = refused ? classifyAddress(refused.address) : undefined;
        const reason = refused && kind ? `${hostname} resolves to ${kind.replace('_', '-')} address ${refused.address}, which is not allowed${allowedBy[kind] ?? ''}` : `${hostname} did not resolve`;
        callback(new TargetRefusedError(reason), '', 0);
        return;
      }
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
