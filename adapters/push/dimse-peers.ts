import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../../src/domain/errors';

/** One allowed C-STORE sender: its calling AE title and the addresses it may call from (dimse.peers). */
export interface DimsePeer {
  aeTitle: string;
  /** IPv4/IPv6 addresses, CIDR ranges ("10.1.0.0/16"), host names (resolved at each association), or "*" (any). */
  hosts: readonly string[];
}

export type PeerDecision = { allowed: true } | { allowed: false; why: 'calling-ae' | 'host' };

const ANY = '*';
/** How long a host name lookup may delay an association decision. */
const LOOKUP_TIMEOUT_MS = 3000;

/** Node reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d; the allow list speaks plain IPv4. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

interface CompiledPeer {
  any: boolean;
  /** IP literals and CIDR ranges. */
  blocks: BlockList;
  hostNames: string[];
}

/** Problems with a peer list, each naming its entry, for the one CONFIG_INVALID error at start. */
export function peerProblems(peers: readonly DimsePeer[]): string[] {
  const problems: string[] = [];
  peers.forEach((peer, i) => {
    if (peer.hosts.length === 0) problems.push(`dimse.peers[${i}] (${peer.aeTitle}): hosts must name at least one address, range, host name or "*"`);
    for (const host of peer.hosts) {
      const cidr = /^(.+)\/(\d{1,3})$/.exec(host);
      if (cidr) {
        const [, base = '', bits = ''] = cidr;
        const max = isIP(base) === 6 ? 128 : 32;
        if (isIP(base) === 0 || Number(bits) > max) problems.push(`dimse.peers[${i}] (${peer.aeTitle}): "${host}" is not a valid CIDR range`);
      }
    }
  });
  return problems;
}

/**
 * The association policy for calling AEs, as Orthanc's DicomCheckModalityHost: a calling AE must be listed, and the
 * peer's address must be one the list allows for that AE. Host names are resolved when an association arrives, so
 * a modality whose address changes in DNS keeps working; a name that does not resolve allows nothing.
 */
export class PeerPolicy {
  private readonly peers = new Map<string, CompiledPeer[]>();

  /**
   * @param peers dimse.peers
   * @param anyHostAeTitles dimse.allowedCallingAeTitles: AE titles allowed from any address (the older key)
   * @param anyCaller dimse.allowAnyCaller with no list at all: every AE from every address
   */
  constructor(
    peers: readonly DimsePeer[],
    anyHostAeTitles: readonly string[] = [],
    private readonly anyCaller = false,
  ) {
    const problems = peerProblems(peers);
    if (problems.length > 0) throw new AppError('CONFIG_INVALID', `invalid DICOM peers:\n  - ${problems.join('\n  - ')}`);
    for (const peer of [...peers, ...anyHostAeTitles.map((aeTitle) => ({ aeTitle, hosts: [ANY] }))]) {
      const compiled: CompiledPeer = { any: false, blocks: new BlockList(), hostNames: [] };
      for (const host of peer.hosts.map((h) => h.trim())) {
        const cidr = /^(.+)\/(\d{1,3})$/.exec(host);
        if (host === ANY) compiled.any = true;
        else if (cidr) compiled.blocks.addSubnet(normalizeAddress(cidr[1] ?? ''), Number(cidr[2]), familyOf(cidr[1] ?? ''));
        else if (isIP(host)) compiled.blocks.addAddress(normalizeAddress(host), familyOf(host));
        else compiled.hostNames.push(host.toLowerCase());
      }
      const key = peer.aeTitle.trim();
      this.peers.set(key, [...(this.peers.get(key) ?? []), compiled]);
    }
  }

  async decide(callingAeTitle: string, remoteAddress: string | undefined): Promise<PeerDecision> {
    if (this.anyCaller) return { allowed: true };
    const entries = this.peers.get(callingAeTitle.trim());
    if (!entries) return { allowed: false, why: 'calling-ae' };
    const address = remoteAddress ? normalizeAddress(remoteAddress) : '';
    for (const entry of entries) {
      if (entry.any) return { allowed: true };
      if (!address || isIP(address) === 0) continue;
      if (entry.blocks.check(address, familyOf(address))) return { allowed: true };
      for (const name of entry.hostNames) if ((await resolve(name)).includes(address)) return { allowed: true };
    }
    return { allowed: false, why: 'host' };
  }
}

async function resolve(name: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(name, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS))),
    ]);
    return found.map((a) => normalizeAddress(a.address));
  } catch {
    // An unresolvable name allows nothing; the rejection is logged by the caller.
    return [];
  } finally {
    clearTimeout(timer);
  }
}
