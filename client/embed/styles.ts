/** The element's own styles: scoped to its shadow root, nothing leaks to the page. */
export const STYLES = `
:host {
  display: block;
  position: relative;
  overflow: hidden;
  contain: content;
  aspect-ratio: 1 / 1;
  background: var(--tpdne-background, #0b0b0f);
}
:host([hidden]) { display: none; }
canvas { display: block; width: 100%; height: 100%; }
.status {
  position: absolute;
  left: 8px;
  top: 8px;
  padding: 2px 8px;
  border-radius: 999px;
  font: 12px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif;
  color: #e4e4ea;
  background: #000000b3;
  pointer-events: none;
}
.status[hidden] { display: none; }
`;

/**
 * Adopts the styles as a constructed stylesheet, which a host page's CSP `style-src`
 * does not govern; a <style> element is the fallback for browsers without one.
 */
export function adoptStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLES);
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = document.createElement('style');
  style.textContent = STYLES;
  root.append(style);
}
