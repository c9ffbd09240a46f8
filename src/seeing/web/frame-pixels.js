// frame-pixels.js: where a frame's pixels come from, for both engines: the size of any frame source,
// and the centre square read on the CPU as RGBA bytes (the CPU engine always; the WebGPU engine on a
// software adapter, where copying an external image to a texture is the slow path).

/** Size of a frame source in pixels: a video, an <img> whatever its CSS size, a VideoFrame, a canvas or bitmap. */
export function sourceSize(src) {
  if (src.videoWidth !== undefined) return [src.videoWidth, src.videoHeight];
  if (src.naturalWidth !== undefined) return [src.naturalWidth, src.naturalHeight];
  if (src.displayWidth !== undefined) return [src.displayWidth, src.displayHeight];
  return [src.width, src.height];
}

/** The centre square of a source: its side and top-left corner; throws while it has no pixels. */
export function centreSquare(src) {
  const [w, h] = sourceSize(src);
  if (!w || !h) throw new Error("the frame source has no pixels yet");
  const side = Math.min(w, h);
  return { side, left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2) };
}

/**
 * Reads the centre square of frame sources as RGBA bytes. A 2D canvas is read through its own
 * context (one readback: ~1 ms for 256x256 against ~3 ms for drawImage into a second canvas and
 * reading that); other sources are drawn into a canvas first. (VideoFrame.copyTo was measured too:
 * 0.3 ms on an idle page, but 4-12 ms per frame next to the engine's work.)
 */
export class CentreSquareReader {
  /** {data: Uint8ClampedArray (side x side x 4), side} */
  read(source) {
    const { side, left, top } = centreSquare(source);
    const own = this._canvasContext(source);
    if (own) return { data: own.getImageData(left, top, side, side).data, side };
    if (this.canvas?.width !== side) {
      this.canvas = new OffscreenCanvas(side, side);
      this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    }
    this.ctx.drawImage(source, left, top, side, side, 0, 0, side, side);
    return { data: this.ctx.getImageData(0, 0, side, side).data, side };
  }

  // The 2D context of a canvas source, or null (not a canvas, or a WebGL/bitmap canvas).
  _canvasContext(source) {
    const isCanvas = (typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement) ||
      (typeof OffscreenCanvas !== "undefined" && source instanceof OffscreenCanvas);
    if (!isCanvas) return null;
    if (this.source !== source) {
      this.source = source;
      try { this.sourceCtx = source.getContext("2d"); } catch { this.sourceCtx = null; }
    }
    return this.sourceCtx;
  }
}
