/**
 * Webhooks are a server-side request forgery vector: a subscriber URL could point the notifier at
 * the cloud's metadata service, the Lambda runtime API on loopback, or a private network. A
 * deployment delivers only to public unicast addresses; local mode also allows loopback (tests,
 * laptops). The check runs when a subscription is created or changed, and again on every
 * delivery, on the addresses the connection really uses (the guarded DNS lookup below is the one
 * the socket connects with), so a name that later resolves elsewhere (DNS rebinding) is refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** 127.0.0.0/8 and ::1. */
  readonly allowLoopback: boolean;
  /** RFC 1918, unique-local, carrier-grade NAT and link-local ranges (169.254.169.254 among them). */
  readonly allowPrivate: boolean;
}

/** What a deployment allows: public addresses only. */
export const PUBLIC_ONLY: AddressPolicy = { allowLoopback: false, allowPrivate: false };
/** Local mode's default: loopback too, so a receiver on the laptop (or in a test) works. */
export const LOCAL_DEFAULT: AddressPolicy = { allowLoopback: true, allowPrivate: false };

const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'linkLocal', 'carrierGradeNat']);

export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefusedError';
}

/**
 * Whether a connection to `address` (an IP literal) is allowed. Only unicast addresses of the
 * public internet pass by default; IPv4-mapped IPv6 is judged as the IPv4 address it carries;
 * multicast, reserved, unspecified, documentation and translation ranges never pass.
 */
export function addressAllowed(address: string, policy: AddressPolicy): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'unicast') return true;
  if (range === 'loopback') return policy.allowLoopback;
  return PRIVATE_RANGES.has(range) && policy.allowPrivate;
}

/** The host of a URL as a resolver or an IP check takes it (IPv6 literals without brackets). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Resolves `host` and checks every address it resolves to (one refused address refuses the host:
 * a name with a public and a private address must not be a way in). Throws AddressRefusedError.
 */
export async function checkHost(host: string, policy: AddressPolicy): Promise<string[]> {
  const addresses = isIP(host) ? [host] : await resolveAll(host);
  const refused = addresses.filter((a) => !addressAllowed(a, policy));
  if (addresses.length === 0 || refused.length > 0) {
    throw new AddressRefusedError(`${host} resolves to an address webhooks may not reach (${refused.join(', ') || 'none'})`);
  }
  return addresses;
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (err, found) => {
      if (err) reject(new AddressRefusedError(`${host} could not be resolved (${err.code ?? err.message})`));
      else resolve(found.map((a) => a.address));
    });
  });
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request / net.connect that only ever hands the socket checked addresses:
 * the check and the connection use the same resolution. Handles both of Node's calling forms
 * (`all: true` is what happy-eyeballs connection attempts ask for).
 */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options?.all === true;
    dnsLookup(hostname, { all: true, verbatim: true }, (err, found) => {
      if (err) return callback(err, all ? [] : '', 0);
      const refused = found.filter((a) => !addressAllowed(a.address, policy));
      if (found.length === 0 || refused.length > 0) {
        const error: NodeJS.ErrnoException = new AddressRefusedError(`${hostname} resolves to an address webhooks may not reach`);
        error.code = 'EADDRREFUSED';
        return callback(error, all ? [] : '', 0);
      }
      if (all) return callback(null, found);
      const first = found[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
