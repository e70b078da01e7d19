import { request as httpRequest, type Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names (lower case) with every value sent, in order: duplicates stay visible. */
  raw: Map<string, string[]>;
  body: Buffer;
  /** Date.now() when the response headers arrived. */
  receivedAt: number;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  agent?: HttpAgent | HttpsAgent;
  /** For https: accept self-signed certificates; SNI name. */
  insecure?: boolean;
  servername?: string;
}

/** One real HTTP(S) request; resolves with the whole body. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const https = url.startsWith('https:');
  const send = https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent as never,
        ...(https ? { rejectUnauthorized: !options.insecure, servername: options.servername } : {}),
      },
      (res) => {
        const receivedAt = Date.now();
        const raw = new Map<string, string[]>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          raw.set(name, [...(raw.get(name) ?? []), res.rawHeaders[i + 1]!]);
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw, body: Buffer.concat(chunks), receivedAt }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
