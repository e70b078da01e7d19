import type { Fit } from '../shared/embed-attributes.js';
import { fitRect } from '../shared/fit.js';
import type { DecodedImage } from './frame-decoder.js';

/**
 * Draws frames on one canvas, each fading in over whatever was on screen when it arrived.
 * The screen at that moment (possibly mid-fade) is copied to a second, off-document
 * canvas and the new frame is blended over it, so a frame that arrives early continues
 * the picture instead of jumping. Only the newest image is kept: the previous one is
 * closed as soon as it has been copied, so at most one decoded image is alive. Animation
 * frames run only while a fade is in progress.
 */
export class CrossfadeCanvas {
  readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly under: HTMLCanvasElement;
  private readonly underContext: CanvasRenderingContext2D;
  private image: DecodedImage | null = null;
  private fadeStart = 0;
  private fadeMs = 0;
  private raf = 0;
  private fitMode: Fit;

  constructor(fit: Fit) {
    this.fitMode = fit;
    this.canvas = document.createElement('canvas');
    this.under = document.createElement('canvas');
    this.context = this.canvas.getContext('2d')!;
    this.underContext = this.under.getContext('2d')!;
    this.onAnimationFrame = this.onAnimationFrame.bind(this);
  }

  get fit(): Fit {
    return this.fitMode;
  }

  set fit(fit: Fit) {
    if (fit === this.fitMode) return;
    this.fitMode = fit;
    this.drawNow();
  }

  /** Sets the drawing buffer size in device pixels; redraws the current frame without a fade. */
  resize(width: number, height: number): void {
    const w = Math.max(0, Math.min(8192, Math.round(width)));
    const h = Math.max(0, Math.min(8192, Math.round(height)));
    if (w === this.canvas.width && h === this.canvas.height) return;
    this.canvas.width = this.under.width = w;
    this.canvas.height = this.under.height = h;
    this.drawNow();
  }

  /** Shows `image`, fading it in over `fadeMs` (0: at once). Takes ownership of `image`. */
  show(image: DecodedImage, fadeMs: number): void {
    const fading = fadeMs > 0 && this.image !== null && this.canvas.width > 0 && this.canvas.height > 0;
    if (fading) {
      this.underContext.globalAlpha = 1;
      this.underContext.clearRect(0, 0, this.under.width, this.under.height);
      this.underContext.drawImage(this.canvas, 0, 0);
    }
    this.image?.close();
    this.image = image;
    if (!fading) return this.drawNow();
    this.fadeStart = performance.now();
    this.fadeMs = fadeMs;
    if (!this.raf) this.raf = requestAnimationFrame(this.onAnimationFrame);
  }

  private stopFade(): void {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.fadeMs = 0;
  }

  private drawNow(): void {
    this.stopFade();
    const { context, canvas } = this;
    context.globalAlpha = 1;
    context.clearRect(0, 0, canvas.width, canvas.height);
    this.drawImage(1);
  }

  private drawImage(alpha: number): void {
    const image = this.image;
    if (!image) return;
    const r = fitRect(image.width, image.height, this.canvas.width, this.canvas.height, this.fitMode);
    if (r.width === 0) return;
    this.context.globalAlpha = alpha;
    this.context.imageSmoothingQuality = 'high';
    this.context.drawImage(image.source, r.x, r.y, r.width, r.height);
    this.context.globalAlpha = 1;
  }

  private onAnimationFrame(now: number): void {
    this.raf = 0;
    if (this.fadeMs === 0) return;
    // Linear in alpha over an opaque copy is a linear blend: constant speed, no dip.
    const t = Math.min(1, Math.max(0, (now - this.fadeStart) / this.fadeMs));
    if (t >= 1) return this.drawNow();
    const { context, canvas } = this;
    context.globalAlpha = 1;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(this.under, 0, 0);
    this.drawImage(t);
    this.raf = requestAnimationFrame(this.onAnimationFrame);
  }
}
