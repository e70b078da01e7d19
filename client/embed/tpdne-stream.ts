import { StreamClient, type StreamState } from '../stream-client.js';
import type { DecodedFrame } from '../shared/protocol.js';
import {
  crossfadeDuration,
  parseCrossfade,
  parseFit,
  resolveStreamUrl,
  type CrossfadeSetting,
  type Fit,
} from '../shared/embed-attributes.js';
import { CrossfadeCanvas } from './crossfade-canvas.js';
import { createFrameDecoder, type FrameDecoder } from './frame-decoder.js';
import { adoptStyles } from './styles.js';
import { watchVisibility, type HiddenReason } from './visibility.js';

/** `detail` of `tpdne-frame`: fired once per frame drawn, with strictly increasing slots. */
export interface TpdneFrameDetail {
  slot: number;
  width: number;
  height: number;
  /** The server's ms per slot. */
  interval: number;
  /** When the server published the frame (unix ms). */
  timestamp: number;
}

/** Why the socket was closed: by the element (hidden, offscreen, paused, removed, src) or by the network. */
export type DisconnectReason = HiddenReason | 'paused' | 'removed' | 'src' | 'network';

export interface TpdneDisconnectDetail {
  reason: DisconnectReason;
}

/** Read-only counters, for pages (and tests) that want to see the element is well-behaved. */
export interface TpdneStreamStats {
  /** Frames received from the socket. */
  received: number;
  /** Frames drawn (one tpdne-frame each). */
  drawn: number;
  /** Frames skipped: superseded while another decoded, or not newer than the last drawn. */
  skipped: number;
  /** Frames that failed to decode. */
  errors: number;
  /** Sockets opened. */
  connects: number;
  /** Open sockets closed, for any reason. */
  disconnects: number;
  /** Connection attempts that closed before opening (refused, unreachable). */
  failures: number;
  /** ImageBitmaps alive now (at most 2: the one shown and one being decoded). */
  liveBitmaps: number;
  /** Object URLs alive now (0 except during a fallback decode). */
  liveObjectUrls: number;
  /** Slot of the frame on screen, or null before the first. */
  slot: number | null;
  /** The fade used for the last frame, in ms (0 under prefers-reduced-motion). */
  crossfade: number;
}

export type TpdneStreamState = 'idle' | StreamState;

const OBSERVED = ['src', 'crossfade', 'paused', 'fit'] as const;

/**
 * `<tpdne-stream>`: the live dream of a tpdne server, for any page.
 *
 * Attributes: `src` (server base URL; default: where embed.js came from), `crossfade`
 * (ms, or `auto` = one interval; default `auto`), `paused` (boolean: closes the socket,
 * keeps the last frame), `fit` (`contain` default, or `cover`).
 * Events (bubbling): `tpdne-frame` ({@link TpdneFrameDetail}), `tpdne-connect`,
 * `tpdne-disconnect` ({@link TpdneDisconnectDetail}).
 *
 * The socket is open only while the element is in the document, not paused, on-screen
 * and in a visible tab; a dropped connection keeps the last frame and retries with
 * jittered exponential backoff.
 */
export class TpdneStreamElement extends HTMLElement {
  static readonly observedAttributes = OBSERVED;

  /** The URL embed.js was loaded from: the default server. Set by the defining module. */
  static scriptUrl = '';

  readonly #renderer: CrossfadeCanvas;
  /** A small label over the picture while it is not live: paused, connecting…, offline. */
  readonly #status: HTMLElement;
  /** A connection attempt failed since the socket was last open. */
  #unreachable = false;
  readonly #decoder: FrameDecoder = createFrameDecoder();
  #client: StreamClient | null = null;
  #state: TpdneStreamState = 'idle';
  #hidden: HiddenReason | null = 'offscreen';
  #stopWatching: (() => void) | null = null;
  #stopResizing: (() => void) | null = null;
  #reducedMotion: MediaQueryList | null = null;
  /** Bumped whenever frames in flight must be thrown away (removed, new src). */
  #generation = 0;
  #pending: DecodedFrame | null = null;
  #decoding = false;
  #lastSlot = -1;
  #closeReason: DisconnectReason = 'network';
  #counts = { received: 0, drawn: 0, skipped: 0, errors: 0, connects: 0, disconnects: 0, failures: 0, crossfade: 0 };

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    adoptStyles(root);
    this.#renderer = new CrossfadeCanvas(parseFit(this.getAttribute('fit')));
    const canvas = this.#renderer.canvas;
    canvas.setAttribute('part', 'canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'A live stream of images dreamed by a generative model');
    this.#status = document.createElement('span');
    this.#status.className = 'status';
    this.#status.setAttribute('part', 'status');
    this.#status.setAttribute('aria-live', 'polite');
    this.#status.hidden = true;
    root.append(canvas, this.#status);
    this.#showStatus();
  }

  /** The server's base URL (reflects the attribute). */
  get src(): string {
    return this.getAttribute('src') ?? '';
  }
  set src(value: string) {
    this.setAttribute('src', value);
  }

  /** The crossfade setting: ms, or `auto`. */
  get crossfade(): CrossfadeSetting {
    return parseCrossfade(this.getAttribute('crossfade'));
  }
  set crossfade(value: CrossfadeSetting) {
    this.setAttribute('crossfade', String(value));
  }

  get paused(): boolean {
    return this.hasAttribute('paused');
  }
  set paused(value: boolean) {
    this.toggleAttribute('paused', Boolean(value));
  }

  get fit(): Fit {
    return parseFit(this.getAttribute('fit'));
  }
  set fit(value: Fit) {
    this.setAttribute('fit', value);
  }

  /** `idle` (not wanted), `connecting`, `open` or `closed` (waiting to retry). */
  get state(): TpdneStreamState {
    return this.#state;
  }

  /** A snapshot of the counters. */
  get stats(): TpdneStreamStats {
    return Object.freeze({
      ...this.#counts,
      liveBitmaps: this.#decoder.liveBitmaps,
      liveObjectUrls: this.#decoder.liveObjectUrls,
      slot: this.#lastSlot >= 0 ? this.#lastSlot : null,
    });
  }

  connectedCallback(): void {
    this.#stopResizing = this.#watchSize();
    this.#reducedMotion = typeof matchMedia === 'function' ? matchMedia('(prefers-reduced-motion: reduce)') : null;
    this.#stopWatching = watchVisibility(this, (hidden) => {
      this.#hidden = hidden;
      this.#update(hidden ?? 'network');
    });
    this.#update('network');
  }

  disconnectedCallback(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
    this.#stopResizing?.();
    this.#stopResizing = null;
    this.#hidden = 'offscreen';
    this.#generation++;
    this.#pending = null;
    // The frame on screen is kept (one bitmap, freed with the element), so an element
    // moved in the document shows its picture at once and its slots keep increasing.
    this.#update('removed');
  }

  attributeChangedCallback(name: (typeof OBSERVED)[number], oldValue: string | null, value: string | null): void {
    if (oldValue === value) return;
    if (name === 'fit') this.#renderer.fit = parseFit(value);
    else if (name === 'paused') {
      this.#update('paused');
      this.#showStatus();
    }
    else if (name === 'src' && this.#client) {
      this.#generation++;
      this.#pending = null;
      this.#closeClient('src');
      this.#update('src');
    }
  }

  /** Opens the socket when the element should stream, closes it (for `reason`) when not. */
  #update(reason: DisconnectReason): void {
    const wanted = this.isConnected && !this.paused && this.#hidden === null;
    if (!wanted) {
      this.#closeClient(reason);
      return;
    }
    if (!this.#client) {
      const url = resolveStreamUrl(this.getAttribute('src'), TpdneStreamElement.scriptUrl || document.baseURI, document.baseURI);
      if (url === null) {
        console.warn(`<tpdne-stream>: src '${this.getAttribute('src')}' is not an http(s) or ws(s) URL`);
        return;
      }
      this.#client = new StreamClient({
        url,
        onFrame: (frame) => this.#onFrame(frame),
        onState: (state) => this.#onState(state),
      });
    }
    this.#client.connect();
  }

  #closeClient(reason: DisconnectReason): void {
    if (!this.#client) return;
    this.#closeReason = reason;
    this.#client.disconnect();
    this.#client = null;
    this.#setState('idle');
  }

  #onState(state: StreamState): void {
    const was = this.#state;
    this.#setState(state);
    if (state === 'open') {
      this.#counts.connects++;
      this.dispatchEvent(new CustomEvent('tpdne-connect', { bubbles: true }));
    } else if (state === 'closed') {
      if (was === 'open') {
        this.#counts.disconnects++;
        const detail: TpdneDisconnectDetail = { reason: this.#closeReason };
        this.dispatchEvent(new CustomEvent('tpdne-disconnect', { bubbles: true, detail }));
      } else if (was === 'connecting' && this.#closeReason === 'network') {
        this.#counts.failures++;
        this.#unreachable = true;
      }
      this.#closeReason = 'network';
    }
  }

  #setState(state: TpdneStreamState): void {
    this.#state = state;
    this.dataset.state = state;
    if (state === 'open') this.#unreachable = false;
    this.#showStatus();
  }

  /**
   * Says why nothing moves, so a paused or unreachable widget is not a blank square. Live,
   * or idle because it is off screen or in a hidden tab (no one sees it), it shows nothing.
   */
  #showStatus(): void {
    const state = this.#state;
    let text = '';
    if (this.paused) text = 'paused';
    else if (state === 'closed' || (state === 'connecting' && this.#unreachable)) text = 'offline';
    else if (state === 'connecting') text = 'connecting…';
    this.#status.textContent = text;
    this.#status.hidden = text === '';
  }

  #onFrame(frame: DecodedFrame): void {
    this.#counts.received++;
    if (frame.slot <= this.#lastSlot) {
      this.#counts.skipped++;
      return;
    }
    // Latest wins: a frame that arrives while another decodes replaces any waiting one.
    if (this.#pending) this.#counts.skipped++;
    this.#pending = frame;
    if (!this.#decoding) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#decoding = true;
    try {
      while (this.#pending) {
        const frame = this.#pending;
        this.#pending = null;
        const generation = this.#generation;
        let image;
        try {
          image = await this.#decoder.decode(frame);
        } catch {
          this.#counts.errors++;
          continue;
        }
        if (generation !== this.#generation || frame.slot <= this.#lastSlot) {
          this.#counts.skipped++;
          image.close();
          continue;
        }
        this.#lastSlot = frame.slot;
        const fade = crossfadeDuration(this.crossfade, frame.interval, this.#reducedMotion?.matches ?? false);
        this.#counts.crossfade = fade;
        this.#renderer.show(image, fade);
        this.#counts.drawn++;
        const detail: TpdneFrameDetail = {
          slot: frame.slot,
          width: frame.width,
          height: frame.height,
          interval: frame.interval,
          timestamp: frame.timestamp,
        };
        this.dispatchEvent(new CustomEvent('tpdne-frame', { bubbles: true, detail }));
      }
    } finally {
      this.#decoding = false;
    }
  }

  /** Keeps the canvas buffer at the element's size in device pixels. */
  #watchSize(): () => void {
    const renderer = this.#renderer;
    if (typeof ResizeObserver === 'undefined') {
      const fit = () => renderer.resize(this.clientWidth * devicePixelRatio, this.clientHeight * devicePixelRatio);
      fit();
      addEventListener('resize', fit);
      return () => removeEventListener('resize', fit);
    }
    const observer = new ResizeObserver(function onResize(entries) {
      const entry = entries[entries.length - 1];
      if (!entry) return;
      const device = entry.devicePixelContentBoxSize?.[0];
      const box = entry.contentBoxSize?.[0];
      if (device) renderer.resize(device.inlineSize, device.blockSize);
      else if (box) renderer.resize(box.inlineSize * devicePixelRatio, box.blockSize * devicePixelRatio);
    });
    // device-pixel-content-box is not everywhere; fall back to the CSS box.
    try {
      observer.observe(this, { box: 'device-pixel-content-box' });
    } catch {
      observer.observe(this);
    }
    return () => observer.disconnect();
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tpdne-stream': TpdneStreamElement;
  }
  interface HTMLElementEventMap {
    'tpdne-frame': CustomEvent<TpdneFrameDetail>;
    'tpdne-connect': CustomEvent<void>;
    'tpdne-disconnect': CustomEvent<TpdneDisconnectDetail>;
  }
}
