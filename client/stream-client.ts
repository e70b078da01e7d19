import { decodeFrameMessage, type DecodedFrame } from './shared/protocol.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './shared/backoff.js';

export { backoffDelay, type BackoffOptions } from './shared/backoff.js';

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
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
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
      // Detach first: nothing from this socket may reach the owner after disconnect().
      socket.onclose = null;
      socket.onmessage = null;
      socket.onopen = null;
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
