import { decodeFrameMessage, type DecodedFrame } from './shared/protocol.js';

export interface BackoffOptions {
  /** First retry delay in ms. Default 500. */
  base: number;
  /** Largest delay in ms. Default 15000. */
  cap: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): "full jitter" exponential backoff,
 * uniform in [0, min(cap, base * 2^attempt)], so a server restart is not met by every
 * viewer at the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.cap, options.base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * random());
}

export type StreamState = 'connecting' | 'open' | 'closed';

export interface StreamClientOptions {
  url: string;
  onFrame: (frame: DecodedFrame) => void;
  onState?: (state: StreamState) => void;
  backoff?: Partial<BackoffOptions>;
}

/**
 * One WebSocket to a tpdne /stream, reconnecting with jittered exponential backoff.
 * connect() and disconnect() may be called any number of times.
 */
export class StreamClient {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private wanted = false;
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: StreamClientOptions) {
    this.backoff = { base: 500, cap: 15000, ...options.backoff };
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    this.wanted = true;
    if (this.socket || this.retryTimer) return;
    this.open();
  }

  disconnect(): void {
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
      this.options.onState?.('closed');
    }
  }

  private open(): void {
    this.options.onState?.('connecting');
    const socket = new WebSocket(this.options.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState?.('open');
    };
    socket.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      try {
        this.options.onFrame(decodeFrameMessage(event.data));
      } catch {
        // A frame we cannot read is skipped; the next one will do.
      }
    };
    socket.onclose = () => {
      this.socket = null;
      this.options.onState?.('closed');
      if (!this.wanted) return;
      const delay = backoffDelay(this.attempt++, this.backoff);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.wanted) this.open();
      }, delay);
    };
  }
}

/** The ws:// or wss:// URL of a server's stream, from its http(s) base URL. */
export function streamUrl(base: string): string {
  const url = new URL('/stream', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
