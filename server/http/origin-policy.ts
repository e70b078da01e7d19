/**
 * Which other sites may use this server from a browser: the WebSocket stream (checked
 * before the upgrade) and the images (CORS). Built once from the resolved `allowOrigin`.
 *
 * A request without an Origin header is not a cross-site browser request (browsers always
 * send one on WebSocket handshakes and CORS requests) and is allowed: the policy keeps
 * other sites' pages out, it does not authenticate clients. A page of this server itself
 * (Origin host equal to the Host header) is always allowed.
 */
export interface OriginPolicy {
  /** True when any origin is allowed (`*`). */
  readonly any: boolean;
  /** True when a request with this Origin header to this Host header may proceed. */
  allows(origin: string | undefined, host: string | undefined): boolean;
  /** CORS response headers for a request carrying this Origin header. */
  corsHeaders(origin: string | undefined): Record<string, string>;
}

/** Response headers a browser script may read cross-origin, besides the safelisted ones. */
const EXPOSED = 'ETag, X-Tpdne-Slot';

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

export function createOriginPolicy(allowOrigin: readonly string[] = ['*']): OriginPolicy {
  const any = allowOrigin.includes('*');
  const allowed = new Set(allowOrigin.map((o) => o.toLowerCase()));

  function listed(origin: string | undefined): origin is string {
    return origin !== undefined && allowed.has(origin.toLowerCase());
  }

  return {
    any,
    allows(origin, host) {
      if (any || origin === undefined || listed(origin)) return true;
      return host !== undefined && hostOf(origin) === host.toLowerCase();
    },
    corsHeaders(origin): Record<string, string> {
      if (any) return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSED };
      // The answer depends on the Origin header, so caches must key on it.
      if (!listed(origin)) return { Vary: 'Origin' };
      return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED, Vary: 'Origin' };
    },
  };
}
