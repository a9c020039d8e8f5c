// QR decoding from the live camera or from a photo. The browser's BarcodeDetector is used
// where it exists (Android Chrome); elsewhere (iOS Safari, desktop Linux Chromium) the jsQR
// library from the npm registry, served by our server and named in the import map.

const SCAN_INTERVAL_MS = 200;
const MAX_SCAN_WIDTH = 640; // decoding a full camera frame is slow on cheap phones

let detectorPromise = null;

/** Return a decode(source, width, height) function: BarcodeDetector or jsQR. */
function decoder() {
  if (!detectorPromise) {
    detectorPromise = (async () => {
      if ("BarcodeDetector" in self) {
        try {
          const formats = await self.BarcodeDetector.getSupportedFormats();
          if (formats.includes("qr_code")) {
            const detector = new self.BarcodeDetector({ formats: ["qr_code"] });
            return async (canvas) => (await detector.detect(canvas))[0]?.rawValue ?? null;
          }
        } catch { /* fall back to jsQR */ }
      }
      await import("jsqr"); // a UMD script: defines self.jsQR
      const jsQR = self.jsQR;
      return async (canvas) => {
        const context = canvas.getContext("2d", { willReadFrequently: true });
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        return jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" })?.data ?? null;
      };
    })();
    detectorPromise.catch(() => { detectorPromise = null; });
  }
  return detectorPromise;
}

function drawScaled(source, width, height, canvas, maxWidth) {
  const scale = Math.min(1, maxWidth / width);
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext("2d", { willReadFrequently: true }).drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/**
 * Show the back camera in `video` and call `onText(text)` for each QR code seen; scanning
 * stops when onText returns true. Resolves with a stop() function.
 */
export async function startScanner(video, onText) {
  const decode = await decoder();
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();
  const canvas = document.createElement("canvas");
  let stopped = false;
  let timer = null;
  let lastText = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const tick = async () => {
    if (stopped) return;
    if (video.readyState >= 2 && video.videoWidth) {
      try {
        const text = await decode(drawScaled(video, video.videoWidth, video.videoHeight, canvas, MAX_SCAN_WIDTH));
        if (text && text !== lastText) {
          lastText = text;
          if (onText(text) === true) {
            stop();
            return;
          }
        }
      } catch (error) {
        console.warn("qr decode failed", error);
      }
    }
    if (!stopped) timer = setTimeout(tick, SCAN_INTERVAL_MS);
  };
  tick();
  return stop;
}

/** Decode a QR code in a picture file (a photo of the label); returns its text or null. */
export async function decodeImage(file) {
  const decode = await decoder();
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  try {
    // Try a moderate size first (fast), then the full photo (small labels far away).
    for (const width of [1024, 2048]) {
      const text = await decode(drawScaled(bitmap, bitmap.width, bitmap.height, canvas, width));
      if (text) return text;
      if (bitmap.width <= width) break;
    }
    return null;
  } finally {
    bitmap.close?.();
  }
}
