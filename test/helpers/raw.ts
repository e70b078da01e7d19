import { connect, type Socket } from 'node:net';

/** Sends raw bytes to host:port and resolves with everything the server sent back before closing (or timeout). */
export function rawRequest(port: number, payload: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(payload);
  });
}

/**
 * A slowloris client: starts a request and dribbles one header line every 100 ms, never
 * ending it. Resolves with what the server sent before it closed the connection.
 */
export function slowloris(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(drip);
      resolve(data);
    });
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.write('X-a: b\r\n'), 100);
  });
}

/** Opens a WebSocket by hand (no client library), so tests can misbehave on purpose. */
export function rawWebSocket(port: number, extraHeaders = ''): Promise<{ socket: Socket; response: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.on('error', reject);
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ socket, response: head });
    };
    socket.on('data', onData);
    socket.write(
      'GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        extraHeaders +
        '\r\n',
    );
  });
}

/** A masked client WebSocket frame (clients must mask). */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const len = payload.length;
  const header = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 255]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, mask, body]);
}
