import { StreamClient, streamUrl } from './stream-client.js';
import { FORMAT_MIME, type DecodedFrame } from './shared/protocol.js';

const canvas = document.querySelector<HTMLCanvasElement>('#dream')!;
const context = canvas.getContext('2d')!;
const stateEl = document.querySelector<HTMLElement>('#state')!;
const fpsEl = document.querySelector<HTMLElement>('#fps')!;

let current: ImageBitmap | null = null;
const arrivals: number[] = [];

function fit(): void {
  canvas.width = Math.round(innerWidth * devicePixelRatio);
  canvas.height = Math.round(innerHeight * devicePixelRatio);
  draw();
}

function draw(): void {
  context.fillStyle = '#07070a';
  context.fillRect(0, 0, canvas.width, canvas.height);
  if (!current) return;
  const scale = Math.min(canvas.width / current.width, canvas.height / current.height);
  const w = current.width * scale;
  const h = current.height * scale;
  context.drawImage(current, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
}

async function onFrame(frame: DecodedFrame): Promise<void> {
  const blob = new Blob([frame.image as BlobPart], { type: FORMAT_MIME[frame.format] });
  const bitmap = await createImageBitmap(blob);
  current?.close();
  current = bitmap;
  draw();
  const now = performance.now();
  arrivals.push(now);
  while (arrivals.length && arrivals[0]! < now - 5000) arrivals.shift();
  const span = (now - arrivals[0]!) / 1000;
  fpsEl.textContent = arrivals.length > 1 ? `${((arrivals.length - 1) / span).toFixed(1)} fps` : '– fps';
}

const client = new StreamClient({
  url: streamUrl(location.href),
  onFrame: (frame) => void onFrame(frame),
  onState(state) {
    stateEl.textContent = state;
    stateEl.className = `state ${state}`;
  },
});

addEventListener('resize', fit);
fit();
client.connect();
