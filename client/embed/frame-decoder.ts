import { FORMAT_MIME, type DecodedFrame } from '../shared/protocol.js';

/** A decoded frame ready to draw. close() releases its pixels; it is safe to call twice. */
export interface DecodedImage {
  readonly source: CanvasImageSource;
  readonly width: number;
  readonly height: number;
  close(): void;
}

export interface FrameDecoder {
  decode(frame: DecodedFrame): Promise<DecodedImage>;
  /** ImageBitmaps made and not yet closed. */
  readonly liveBitmaps: number;
  /** Object URLs made and not yet revoked (the fallback path only; 0 between decodes). */
  readonly liveObjectUrls: number;
}

/**
 * Turns stream frames into drawable images. createImageBitmap decodes off the main
 * thread where the browser allows; browsers without it decode through an <img> and an
 * object URL, which is revoked as soon as the image has decoded. Every bitmap is counted
 * until closed, so a leak shows in the element's `stats`.
 */
export function createFrameDecoder(): FrameDecoder {
  let liveBitmaps = 0;
  let liveObjectUrls = 0;

  async function viaBitmap(blob: Blob): Promise<DecodedImage> {
    const bitmap = await createImageBitmap(blob);
    liveBitmaps++;
    let open = true;
    return {
      source: bitmap,
      width: bitmap.width,
      height: bitmap.height,
      close() {
        if (!open) return;
        open = false;
        liveBitmaps--;
        bitmap.close();
      },
    };
  }

  async function viaImage(blob: Blob): Promise<DecodedImage> {
    const url = URL.createObjectURL(blob);
    liveObjectUrls++;
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      let open = true;
      return {
        source: img,
        width: img.naturalWidth,
        height: img.naturalHeight,
        close() {
          if (!open) return;
          open = false;
          img.src = '';
        },
      };
    } finally {
      // The decoded image keeps its pixels; the URL is not needed past decode().
      URL.revokeObjectURL(url);
      liveObjectUrls--;
    }
  }

  const decodeBlob = typeof createImageBitmap === 'function' ? viaBitmap : viaImage;

  return {
    decode(frame) {
      return decodeBlob(new Blob([frame.image as BlobPart], { type: FORMAT_MIME[frame.format] }));
    },
    get liveBitmaps() {
      return liveBitmaps;
    },
    get liveObjectUrls() {
      return liveObjectUrls;
    },
  };
}
