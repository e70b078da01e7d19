/**
 * Functions that run inside the browser page (passed to page.evaluate / addInitScript,
 * which send their source text). The test program compiles without lib.dom, so server
 * code cannot use browser globals by mistake; these minimal shapes type what the page
 * side touches. Every function here must be self-contained: no imports, no closures.
 */

export interface StreamStats {
  received: number;
  drawn: number;
  skipped: number;
  errors: number;
  connects: number;
  disconnects: number;
  failures: number;
  liveBitmaps: number;
  liveObjectUrls: number;
  slot: number | null;
  crossfade: number;
}

export interface StreamEvent {
  type: 'tpdne-frame' | 'tpdne-connect' | 'tpdne-disconnect';
  slot?: number;
  reason?: string;
  at: number;
}

interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

interface PageElement extends PageEventTarget {
  readonly stats: StreamStats;
  readonly state: string;
  readonly shadowRoot: { querySelector(selector: 'canvas'): PageCanvas | null } | null;
  textContent: string | null;
  value?: string;
  href?: string;
  readonly contentDocument?: unknown;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  toggleAttribute(name: string, force?: boolean): boolean;
}

interface PageEventTarget {
  addEventListener(
    type: string,
    listener: (event: { type: string; detail?: { slot?: number; reason?: string } }) => void,
    options?: boolean | { capture?: boolean; once?: boolean },
  ): void;
  dispatchEvent(event: unknown): boolean;
}

/** The parts of `window` these functions use. */
export interface PageGlobals {
  document: PageEventTarget & { querySelector(selector: string): PageElement | null; visibilityState: string; hidden: boolean };
  Event: new (type: string) => unknown;
  scrollTo(x: number, y: number): void;
  createImageBitmap: (...args: unknown[]) => Promise<{ close(): void }>;
  ImageBitmap: { prototype: { close(): void } };
  URL: { createObjectURL(obj: unknown): string; revokeObjectURL(url: string): void };
  __tpdneEvents?: StreamEvent[];
  __tpdneResources?: { bitmapsMade: number; bitmapsClosed: number; urlsMade: number; urlsRevoked: number };
}

/** Init script: records every tpdne-* event reaching the document in `window.__tpdneEvents`. */
export function recordStreamEvents(): void {
  const w = globalThis as unknown as PageGlobals;
  const events: StreamEvent[] = [];
  w.__tpdneEvents = events;
  for (const type of ['tpdne-frame', 'tpdne-connect', 'tpdne-disconnect'] as const) {
    w.document.addEventListener(
      type,
      (event) => {
        events.push({ type, slot: event.detail?.slot, reason: event.detail?.reason, at: performance.now() });
      },
      true,
    );
  }
}

/**
 * Init script: counts ImageBitmaps and object URLs made and released by anything on the
 * page, independently of the element's own counters.
 */
export function countImageResources(): void {
  const w = globalThis as unknown as PageGlobals;
  const counts = { bitmapsMade: 0, bitmapsClosed: 0, urlsMade: 0, urlsRevoked: 0 };
  w.__tpdneResources = counts;
  const closed = new WeakSet<object>();
  const makeBitmap = w.createImageBitmap;
  w.createImageBitmap = async function countedCreateImageBitmap(...args: unknown[]) {
    const bitmap = await makeBitmap.apply(globalThis, args);
    counts.bitmapsMade++;
    return bitmap;
  };
  const close = w.ImageBitmap.prototype.close;
  w.ImageBitmap.prototype.close = function countedClose(this: object) {
    if (!closed.has(this)) {
      closed.add(this);
      counts.bitmapsClosed++;
    }
    return close.call(this);
  };
  const createUrl = w.URL.createObjectURL;
  const revokeUrl = w.URL.revokeObjectURL;
  w.URL.createObjectURL = (obj: unknown) => {
    counts.urlsMade++;
    return createUrl(obj);
  };
  w.URL.revokeObjectURL = (url: string) => {
    counts.urlsRevoked++;
    return revokeUrl(url);
  };
}

/** The recorded events (see {@link recordStreamEvents}). */
export function streamEvents(): StreamEvent[] {
  return (globalThis as unknown as PageGlobals).__tpdneEvents ?? [];
}

/** The stats and state of the `<tpdne-stream>` matching `selector`. */
export function streamInfo(selector: string): { stats: StreamStats; state: string } {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector)!;
  return { stats: el.stats, state: el.state };
}

/** A hash of the element's canvas pixels (FNV-1a over every byte), with the slot on screen. */
export function canvasHash(selector: string): { hash: number; slot: number | null; nonBlank: number } {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector)!;
  const canvas = el.shadowRoot!.querySelector('canvas')!;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0x811c9dc5;
  let nonBlank = 0;
  for (let i = 0; i < data.length; i++) {
    hash = Math.imul(hash ^ data[i]!, 0x01000193) >>> 0;
    if ((i & 3) === 3 && data[i]! > 0) nonBlank++;
  }
  return { hash, slot: el.stats.slot, nonBlank };
}

/** Makes the page look hidden (true) or visible (false) to its scripts and fires visibilitychange. */
export function setPageHidden(hidden: boolean): void {
  const w = globalThis as unknown as PageGlobals;
  // Headless chromium has no way to hide a page (no CDP command, minimising is ignored),
  // so the two properties the Page Visibility API defines are overridden on the document.
  Object.defineProperty(w.document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(w.document, 'hidden', { configurable: true, get: () => hidden });
  w.document.dispatchEvent(new w.Event('visibilitychange'));
}

/** The resource counters (see {@link countImageResources}). */
export function imageResources(): NonNullable<PageGlobals['__tpdneResources']> {
  return (globalThis as unknown as PageGlobals).__tpdneResources!;
}

/** Predicate for page.waitForFunction: the element has drawn at least `count` frames. */
export function drawnAtLeast([selector, count]: [string, number]): boolean {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector);
  return el !== null && el.stats !== undefined && el.stats.drawn >= count;
}

/** The text of each selector's element (null if none). */
export function texts(selectors: string[]): (string | null)[] {
  const doc = (globalThis as unknown as PageGlobals).document;
  return selectors.map((s) => doc.querySelector(s)?.textContent ?? null);
}

/** `href` of a link, or `value` of a form field. */
export function hrefOrValue(selector: string): string | null {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector);
  return el?.href ?? el?.value ?? null;
}

/**
 * Hashes the canvas of the `<tpdne-stream>` right when its next frame event fires and
 * again `delayMs` later: equal when frames are drawn whole, different while they fade.
 */
export function fadeProbe(delayMs: number): Promise<{ slot: number; atEvent: number; later: number; laterSlot: number | null }> {
  const el = (globalThis as unknown as PageGlobals).document.querySelector('tpdne-stream')!;
  const hash = (): number => {
    const canvas = el.shadowRoot!.querySelector('canvas')!;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 0x811c9dc5;
    for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193) >>> 0;
    return h;
  };
  return new Promise((resolve) => {
    el.addEventListener(
      'tpdne-frame',
      (event) => {
        const atEvent = hash();
        setTimeout(() => resolve({ slot: event.detail!.slot!, atEvent, later: hash(), laterSlot: el.stats.slot }), delayMs);
      },
      { once: true },
    );
  });
}

/** Scrolls the window to `y`. */
export function scrollToY(y: number): void {
  (globalThis as unknown as PageGlobals).scrollTo(0, y);
}

/** Sets (string), or removes (null), an attribute of the element matching `selector`. */
export function setAttribute([selector, name, value]: [string, string, string | null]): void {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector)!;
  if (value === null) el.removeAttribute(name);
  else el.setAttribute(name, value);
}

/** Counts the element's canvas pixels that are drawn (alpha > 0), and all of them. */
export function drawnPixels(selector: string): { drawn: number; total: number; width: number; height: number } {
  const el = (globalThis as unknown as PageGlobals).document.querySelector(selector)!;
  const canvas = el.shadowRoot!.querySelector('canvas')!;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) drawn++;
  return { drawn, total: data.length / 4, width: canvas.width, height: canvas.height };
}

/** What a cross-origin fetch of `url` from this page gets: status and the readable slot header, or the error. */
export async function fetchFromPage(url: string): Promise<{ status?: number; slot?: string | null; error?: string }> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return { status: res.status, slot: res.headers.get('X-Tpdne-Slot') };
  } catch (err) {
    return { error: String(err) };
  }
}
