import './embed/index.js';
import { FrameRateMeter } from './shared/frame-rate.js';

const dream = document.querySelector('tpdne-stream')!;
const stateEl = document.querySelector<HTMLElement>('#state')!;
const fpsEl = document.querySelector<HTMLElement>('#fps')!;
const toggle = document.querySelector<HTMLButtonElement>('#embed-toggle')!;
const panel = document.querySelector<HTMLElement>('#embed')!;
const snippet = document.querySelector<HTMLTextAreaElement>('#snippet')!;
const iframeSnippet = document.querySelector<HTMLElement>('#iframe-snippet')!;
const copy = document.querySelector<HTMLButtonElement>('#copy')!;

const meter = new FrameRateMeter(3000);

function showState(state: string): void {
  stateEl.textContent = state === 'open' ? 'live' : state === 'idle' ? 'paused' : state;
  stateEl.className = `state ${state}`;
}

function showRate(): void {
  // Only a live socket has a rate: the window's last frames would otherwise read as one
  // for seconds after the stream stopped.
  const rate = dream.state === 'open' ? meter.rate(performance.now()) : null;
  fpsEl.textContent = rate === null ? '– fps' : `${rate.toFixed(1)} fps`;
}

dream.addEventListener('tpdne-frame', function onFrame() {
  meter.tick(performance.now());
  showRate();
});
dream.addEventListener('tpdne-connect', function onConnect() {
  meter.reset();
  showState('open');
});
dream.addEventListener('tpdne-disconnect', function onDisconnect() {
  meter.reset();
  showState(dream.state);
  showRate();
});
// State changes without an event (connecting, retry waits, hidden tab) and a stalled rate.
setInterval(function refreshHud() {
  showState(dream.state);
  showRate();
}, 1000);

const base = new URL('./', location.href).href;
const origin = base.replace(/\/$/, '');
snippet.value = `<script type="module" src="${base}embed.js"></script>\n<tpdne-stream src="${origin}" style="width:512px"></tpdne-stream>`;
iframeSnippet.textContent = `<iframe src="${base}embed" width="512" height="512" style="border:0"></iframe>`;

toggle.addEventListener('click', function onToggle() {
  panel.hidden = !panel.hidden;
  toggle.setAttribute('aria-expanded', String(!panel.hidden));
  if (!panel.hidden) snippet.select();
});
copy.addEventListener('click', async function onCopy() {
  snippet.select();
  try {
    await navigator.clipboard.writeText(snippet.value);
    copy.textContent = 'copied';
  } catch {
    // No clipboard permission (plain http, old browser): the text is selected for Ctrl+C.
    copy.textContent = 'press Ctrl+C';
  }
  setTimeout(() => (copy.textContent = 'copy'), 1500);
});
