import type { Fit } from './embed-attributes.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where an image of `width`×`height` goes in a box of `boxWidth`×`boxHeight`, centred:
 * `contain` shows all of it (letterboxed), `cover` fills the box (cropped), like CSS
 * object-fit. An empty image or box gives an empty rect.
 */
export function fitRect(width: number, height: number, boxWidth: number, boxHeight: number, fit: Fit): Rect {
  if (!(width > 0 && height > 0 && boxWidth > 0 && boxHeight > 0)) return { x: 0, y: 0, width: 0, height: 0 };
  const sx = boxWidth / width;
  const sy = boxHeight / height;
  const scale = fit === 'cover' ? Math.max(sx, sy) : Math.min(sx, sy);
  const w = width * scale;
  const h = height * scale;
  return { x: (boxWidth - w) / 2, y: (boxHeight - h) / 2, width: w, height: h };
}
