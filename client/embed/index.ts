/**
 * embed.js: defines `<tpdne-stream>`. Built by Vite as one standalone ES module and
 * served at /embed.js:
 *
 *   <script type="module" src="https://HOST/embed.js"></script>
 *   <tpdne-stream src="https://HOST"></tpdne-stream>
 *
 * Defines nothing but the element, and nothing twice.
 */
import { TpdneStreamElement } from './tpdne-stream.js';

export { TpdneStreamElement };
export type { TpdneFrameDetail, TpdneDisconnectDetail, TpdneStreamStats, TpdneStreamState, DisconnectReason } from './tpdne-stream.js';

TpdneStreamElement.scriptUrl ||= import.meta.url;
if (!customElements.get('tpdne-stream')) customElements.define('tpdne-stream', TpdneStreamElement);
