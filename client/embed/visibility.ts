export type HiddenReason = 'hidden' | 'offscreen';

/**
 * Watches whether `element` can be seen: the document is visible (visibilitychange,
 * pagehide/pageshow for the back-forward cache) and the element intersects the viewport
 * (IntersectionObserver). Calls `onChange` with null when it can be seen, else with why
 * not, only when that changes. Until the first intersection report the element counts
 * as off-screen, so a widget below the fold never opens a socket. Returns the function
 * that stops watching.
 */
export function watchVisibility(element: Element, onChange: (hidden: HiddenReason | null) => void): () => void {
  let intersecting = typeof IntersectionObserver === 'undefined';
  let pageShown = true;
  let last: HiddenReason | null | undefined;

  function report(): void {
    const hidden: HiddenReason | null = document.visibilityState !== 'visible' || !pageShown ? 'hidden' : !intersecting ? 'offscreen' : null;
    if (hidden === last) return;
    last = hidden;
    onChange(hidden);
  }

  function onVisibilityChange(): void {
    report();
  }
  function onPageHide(): void {
    pageShown = false;
    report();
  }
  function onPageShow(): void {
    pageShown = true;
    report();
  }

  const observer =
    typeof IntersectionObserver === 'undefined'
      ? null
      : new IntersectionObserver(function onIntersection(entries) {
          const entry = entries[entries.length - 1];
          if (!entry) return;
          intersecting = entry.isIntersecting;
          report();
        });
  observer?.observe(element);
  document.addEventListener('visibilitychange', onVisibilityChange);
  addEventListener('pagehide', onPageHide);
  addEventListener('pageshow', onPageShow);
  report();

  return function stopWatching(): void {
    observer?.disconnect();
    document.removeEventListener('visibilitychange', onVisibilityChange);
    removeEventListener('pagehide', onPageHide);
    removeEventListener('pageshow', onPageShow);
  };
}
