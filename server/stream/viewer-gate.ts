import { createOriginPolicy } from '../http/origin-policy.js';

/** What a transport knows of an upgrade request before it upgrades. */
export interface UpgradeRequest {
  /** Path and query as sent. */
  url: string;
  origin: string | undefined;
  host: string | undefined;
  /** The viewer's address (see viewerAddress). */
  address: string;
}

export type Admission =
  /** Upgrade, and call `release` once when the viewer (or its handshake) is gone. */
  | { status: 101; release: () => void }
  | { status: 403 | 404 | 503; reason: string };

export interface ViewerGateOptions {
  /** The URL path of the stream. */
  path: string;
  maxViewers: number;
  maxViewersPerIp: number;
  /** Origins whose pages may connect (`['*']`: any). */
  allowOrigin: readonly string[];
}

export interface ViewerGate {
  /** Decides an upgrade before it happens, so a refused request never becomes a viewer. */
  admit(req: UpgradeRequest): Admission;
  /** Refuses every later upgrade with 503 (shutdown). */
  close(): void;
  /** Upgrades refused by a viewer cap (`refused`) or the origin policy (`forbidden`). */
  stats(): { refused: number; forbidden: number };
}

/**
 * Who may become a viewer: the stream's path, the origin policy and the viewer caps,
 * the same for every transport. Viewers are counted from the upgrade on, so a burst of
 * handshakes cannot overshoot a cap.
 */
export function createViewerGate(options: ViewerGateOptions): ViewerGate {
  const { path, maxViewers, maxViewersPerIp } = options;
  const origins = createOriginPolicy(options.allowOrigin);
  const perAddress = new Map<string, number>();
  let admitted = 0;
  let refused = 0;
  let forbidden = 0;
  let closed = false;

  return {
    admit(req) {
      if (req.url !== path && !req.url.startsWith(path + '?')) return { status: 404, reason: 'Not Found' };
      if (closed) return { status: 503, reason: 'Service Unavailable' };
      if (!origins.allows(req.origin, req.host)) {
        forbidden++;
        return { status: 403, reason: 'Forbidden' };
      }
      const fromAddress = perAddress.get(req.address) ?? 0;
      if (admitted >= maxViewers || fromAddress >= maxViewersPerIp) {
        refused++;
        return { status: 503, reason: 'Service Unavailable' };
      }
      admitted++;
      perAddress.set(req.address, fromAddress + 1);
      let counted = true;
      return {
        status: 101,
        release: function releaseViewer() {
          if (!counted) return;
          counted = false;
          admitted--;
          const left = (perAddress.get(req.address) ?? 1) - 1;
          if (left > 0) perAddress.set(req.address, left);
          else perAddress.delete(req.address);
        },
      };
    },
    close() {
      closed = true;
    },
    stats() {
      return { refused, forbidden };
    },
  };
}
