import type * as Uws from 'uWebSockets.js';

/** The uWebSockets.js module, as its type declarations describe it. */
export type UwsModule = typeof Uws;

/**
 * The module to import: `uWebSockets.js` unless `TPDNE_UWS_MODULE` names another (a
 * package name or an absolute file URL of a local build). Tests name one that does not
 * exist to see the server without it.
 */
export function uwsSpecifier(env: NodeJS.ProcessEnv = process.env): string {
  return env.TPDNE_UWS_MODULE || 'uWebSockets.js';
}

/**
 * Imports uWebSockets.js, only when a transport asks for it. Rejects when it is not
 * installed, its binary does not fit this platform or Node, or what loaded is not the
 * native library (some npm builds fall back to a JavaScript imitation: refused, since
 * whoever asks for uWS wants uWS).
 */
export async function loadUws(): Promise<UwsModule> {
  const imported = (await import(uwsSpecifier())) as UwsModule & { default?: UwsModule };
  const uws = imported.default ?? imported;
  if (typeof uws.App !== 'function' || !Function.prototype.toString.call(uws.App).includes('[native code]')) {
    throw new Error('what loaded is not the native uWebSockets.js (a JavaScript fallback?)');
  }
  return uws;
}
