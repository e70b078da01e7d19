import { parseCrossfade, parseFit } from '../../client/shared/embed-attributes.js';

/**
 * The CSP of `/embed`: like the other pages, except that the sites in `frameAncestors`
 * may frame it (no X-Frame-Options, which cannot express a list).
 */
export function embedCsp(frameAncestors: readonly string[]): string {
  return (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data: blob:; " +
    `connect-src 'self' ws: wss:; frame-ancestors ${frameAncestors.join(' ')}; base-uri 'none'; form-action 'none'`
  );
}

/**
 * `/embed`: a bare page that is only `<tpdne-stream>` filling the frame, for sites that
 * prefer an iframe to a script. `?fit=cover|contain` and `?crossfade=<ms>|auto` pass
 * through to the element; anything else in the query is ignored. The script and icon
 * URLs are relative, so the page also works behind a path prefix (and a browser opening
 * it asks for no /favicon.ico, which would 404).
 */
export function renderEmbedPage(query: URLSearchParams): string {
  const attributes = [];
  if (query.has('fit')) attributes.push(` fit="${parseFit(query.get('fit'))}"`);
  if (query.has('crossfade')) attributes.push(` crossfade="${parseCrossfade(query.get('crossfade'))}"`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>This person does not exist · live</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#0b0b0f}tpdne-stream{width:100%;height:100%;aspect-ratio:auto}</style>
<script type="module" src="embed.js"></script>
<link rel="icon" type="image/png" href="favicon.png">
</head>
<body><tpdne-stream${attributes.join('')}></tpdne-stream></body>
</html>
`;
}
