const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * The viewer's address for the per-address cap, from the socket's address and the
 * X-Forwarded-For header. Behind a local reverse proxy (nginx on the same box) every
 * socket comes from loopback, so there, and only there, the last X-Forwarded-For entry
 * (the one the proxy appended) names the viewer: a remote client cannot pick its own.
 */
export function viewerAddress(remote: string, forwarded: string | undefined): string {
  if (!LOOPBACK.test(remote) || typeof forwarded !== 'string') return remote;
  return forwarded.split(',').at(-1)!.trim() || remote;
}

/**
 * An address as Node's sockets report it: IPv6 compressed (`::1`), IPv4-mapped IPv6 in
 * dotted form (`::ffff:127.0.0.1`). uWebSockets.js writes IPv6 out in full
 * (`0000:…:0001`), so both transports key viewers the same way only after this.
 */
export function normaliseAddress(address: string): string {
  if (!address.includes(':')) return address;
  let compressed: string;
  try {
    compressed = new URL(`http://[${address}]`).hostname.slice(1, -1);
  } catch {
    return address;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
