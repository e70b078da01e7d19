/**
 * How `<tpdne-stream>` reads its attributes. Pure and DOM-free, so the parsing rules are
 * unit-tested in node and the element only wires them up. Invalid values fall back to
 * the default, as HTML does for its own enumerated attributes.
 */

export type Fit = 'cover' | 'contain';

export const FITS: readonly Fit[] = ['contain', 'cover'];

/** `fit` when absent or invalid: the whole image, letterboxed. */
export const DEFAULT_FIT: Fit = 'contain';

/** The longest crossfade accepted, in ms. */
export const MAX_CROSSFADE = 10_000;

/** `crossfade`: a whole number of ms, or `auto` (the default): one stream interval. */
export type CrossfadeSetting = number | 'auto';

/** `fit="cover|contain"`, case-insensitive; anything else is the default. */
export function parseFit(value: string | null): Fit {
  const v = value?.trim().toLowerCase();
  return v === 'cover' || v === 'contain' ? v : DEFAULT_FIT;
}

/**
 * `crossfade="<ms>"`: 0 switches the fade off; absent, `auto` or invalid is `auto`, which
 * fades for one stream interval so each frame melts into the next. Values past
 * {@link MAX_CROSSFADE} are clamped to it.
 */
export function parseCrossfade(value: string | null): CrossfadeSetting {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '' || v === 'auto' || !/^\d+$/.test(v)) return 'auto';
  return Math.min(Number(v), MAX_CROSSFADE);
}

/** The fade actually used for a frame: none under prefers-reduced-motion. */
export function crossfadeDuration(setting: CrossfadeSetting, interval: number, reducedMotion: boolean): number {
  if (reducedMotion) return 0;
  const ms = setting === 'auto' ? interval : setting;
  return Math.max(0, Math.min(Math.round(ms), MAX_CROSSFADE));
}

/**
 * The WebSocket URL for a `src`. `src` is the tpdne server's base URL (`https://host`, or
 * `https://host/tpdne/` behind a path prefix), resolved against the page; a `ws:`/`wss:`
 * URL is used as given. Absent or blank, the server is the one `embed.js` was loaded from
 * (`scriptUrl`), so `<tpdne-stream>` needs no `src` at all. Null when `src` names neither
 * http(s) nor ws(s).
 */
export function resolveStreamUrl(src: string | null, scriptUrl: string, documentUrl: string): string | null {
  let url: URL;
  try {
    url = src === null || src.trim() === '' ? new URL('.', scriptUrl) : new URL(src.trim(), documentUrl);
  } catch {
    return null;
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return url.href;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const stream = new URL('stream', url);
  stream.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return stream.href;
}
