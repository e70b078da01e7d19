import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { invalidOption, integerOption } from '../options.js';
import { ErrorCodes, TpdneError } from '../errors.js';

/**
 * Validators for the deploy generators (`tpdne nginx|pm2|systemd`). They throw the one
 * message shape every option error uses ("Expected … for --domain but received '…'"),
 * with code ERR_INVALID_OPTION. Whatever they accept is safe to write into an nginx
 * config, a systemd unit or a JavaScript file without further quoting.
 */

/**
 * The option error for a value that was not given at all: the same shape, ending in
 * "received nothing" (invalidOption would print "undefined").
 */
export function missingOption(key: string, expected: string): never {
  const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
  throw new TpdneError(ErrorCodes.INVALID_OPTION, `Expected ${expected} for ${flag} but received nothing`);
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A DNS name (`tpdne.example.com`, `localhost`): letters, digits and inner hyphens,
 * labels of 1-63 characters, 253 at most, the last label not all digits (so not an IP
 * address). Returned in lower case.
 */
export function domainOption(key: string, value: unknown): string {
  const expected = 'a domain name like tpdne.example.com';
  if (value === undefined) missingOption(key, expected);
  if (typeof value !== 'string') invalidOption(key, expected, value);
  const name = value.toLowerCase();
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels[labels.length - 1]!)) {
    invalidOption(key, expected, value);
  }
  return name;
}

export interface Upstream {
  /** As nginx writes it: `127.0.0.1`, `[::1]`, `localhost`. */
  readonly host: string;
  readonly port: number;
}

/** `host:port` where host is an IPv4 address, a bracketed IPv6 address or a DNS name. */
export function upstreamOption(key: string, value: unknown): Upstream {
  const expected = 'host:port like 127.0.0.1:8080';
  if (typeof value !== 'string') invalidOption(key, expected, value);
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (!match) invalidOption(key, expected, value);
  let host = match[1]!;
  if (host.startsWith('[')) {
    if (isIP(host.slice(1, -1)) !== 6) invalidOption(key, expected, value);
  } else if (isIP(host) !== 4) {
    try {
      host = domainOption(key, host);
    } catch {
      invalidOption(key, expected, value);
    }
  }
  const port = Number(match[2]);
  if (port < 1 || port > 65535) invalidOption(key, expected, value);
  return Object.freeze({ host, port });
}

/** An address to listen on: IPv4, or IPv6 with or without brackets. Returned as nginx writes it. */
export function listenAddressOption(key: string, value: unknown): string {
  const expected = 'an IP address like 127.0.0.1 or [::1]';
  if (typeof value !== 'string') invalidOption(key, expected, value);
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const family = isIP(bare);
  if (family === 4 && bare === value) return value;
  if (family === 6) return `[${bare}]`;
  return invalidOption(key, expected, value);
}

// Characters that end or change a token in nginx configs (`;`, braces, quotes, `$`
// variables, `#` comments, whitespace) or in systemd units (`%` specifiers, `\`
// escapes). Paths written into configs must have none of them, so nothing is quoted.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_CONFIG = /[\s;{}'"$#%\\\u0000-\u001f\u007f]/;

/**
 * A file or folder path to write into a config: made absolute against `cwd`, and free
 * of characters that nginx or systemd would read as syntax.
 */
export function configPathOption(key: string, value: unknown, cwd: string): string {
  const expected = "a path without spaces, quotes or any of ; { } $ # % \\";
  if (typeof value !== 'string' || value.length === 0 || UNSAFE_IN_CONFIG.test(value)) invalidOption(key, expected, value);
  return isAbsolute(value) ? resolve(value) : resolve(cwd, value);
}

/** A TCP port to listen on, 1-65535. */
export function portOption(key: string, value: unknown, fallback: number): number {
  return integerOption(key, value, fallback, 1, 65535);
}

/** A name for a pm2 app, a unit or a user: letters, digits, `.`, `_`, `-`; starts with a letter or `_`. */
export function nameOption(key: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(value)) {
    invalidOption(key, 'a name of letters, digits, ., _ or - (at most 32, starting with a letter or _)', value);
  }
  return value;
}
