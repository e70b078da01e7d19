import type { Frame } from '../frames/frame.js';
import { FORMAT_INFO } from '../encode/encoder.js';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The immutable URL of a frame. */
export function frameUrl(frame: Pick<Frame, 'slot' | 'format'>): string {
  return `/frames/${frame.slot}.${FORMAT_INFO[frame.format].ext}`;
}

const STYLE = `
  html,body{margin:0;height:100%;background:#0b0b0f;color:#c9c9d1;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
  main{min-height:100%;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:14px;padding:16px;box-sizing:border-box}
  img{display:block;width:min(88vmin,1024px);height:auto;aspect-ratio:var(--ar);image-rendering:auto;border-radius:6px;box-shadow:0 8px 40px #000a}
  img.pixel{image-rendering:pixelated}
  p{margin:0;max-width:min(88vmin,1024px);text-align:center;color:#8d8d99;font-size:13px;text-wrap:balance}
  a{color:#b9a7ff}
`;

/** The classic refresh-to-see page: server-rendered, no JavaScript, the frame by its slot URL. */
export function renderClassicPage(frame: Frame, options: { modelName: string; pixelated: boolean }): string {
  const src = frameUrl(frame);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>This person does not exist</title>
<meta property="og:image" content="${src}">
<link rel="icon" type="image/png" href="/favicon.png">
<style>${STYLE}</style>
</head>
<body>
<main>
<img src="${src}" width="${frame.width}" height="${frame.height}" style="--ar:${frame.width}/${frame.height}"${options.pixelated ? ' class="pixel"' : ''} alt="A dreamed image, slot ${frame.slot}">
<p>Nobody drew this. <b>${escapeHtml(options.modelName)}</b> dreamed it a moment ago, and everyone looking right now sees the same one. Refresh for a new dream, or <a href="/live">watch it dream live</a>.</p>
</main>
</body>
</html>
`;
}

/** Shown before the first frame exists; refreshes itself without script. */
export function renderWarmingPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="1">
<title>This person does not exist</title>
<style>${STYLE}</style>
</head>
<body><main><p>The model is waking up. This page refreshes by itself.</p></main></body>
</html>
`;
}
