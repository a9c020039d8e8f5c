// Photos and signatures on the phone: downscaling, hashing, capture time and place.
// Photos are shrunk before they are stored: at most 1600 px on the long edge, JPEG at about
// 0.75 quality (typically under 400 KB), so a day of surveys fits on a cheap phone and
// uploads over one bar of signal.

const MAX_EDGE = 1600;
const QUALITY = 0.75;
const TARGET_BYTES = 400 * 1024;
const FIX_MAX_AGE_MS = 2 * 60 * 1000;

/** Return the SHA-256 of a blob as lowercase hex (the media's name on the server). */
export async function sha256(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function canvasToBlob(canvas, type, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("encoding failed"))), type, quality);
  });
}

/** Downscale a picture file to a JPEG blob; returns {blob, width, height}. */
export async function downscale(file) {
  // from-image applies the EXIF orientation, so portrait photos stay upright.
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    const scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // transparent PNGs from the gallery become white, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    let blob = await canvasToBlob(canvas, "image/jpeg", QUALITY);
    if (blob.size > TARGET_BYTES) blob = await canvasToBlob(canvas, "image/jpeg", 0.6);
    canvas.width = canvas.height = 0; // free the pixels now, not at the next GC (low-memory phones)
    return { blob, width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) };
  } finally {
    bitmap.close?.();
  }
}

let watchId = null;
let lastFix = null;

/** Start following the phone's position (so a photo never waits for a GPS fix). */
export function startLocating() {
  if (watchId !== null || !navigator.geolocation) return;
  watchId = navigator.geolocation.watchPosition(
    (position) => {
      lastFix = {
        lat: position.coords.latitude,
        lon: position.coords.longitude,
        accuracy: Math.round(position.coords.accuracy),
        at: position.timestamp,
      };
    },
    () => {},
    { enableHighAccuracy: true, maximumAge: 60000, timeout: 60000 },
  );
}

/** Stop following the position (saves battery off the survey screen). */
export function stopLocating() {
  if (watchId !== null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
}

/** Return the latest recent position {lat, lon, accuracy}, or null. */
export function lastLocation() {
  if (!lastFix || Date.now() - lastFix.at > FIX_MAX_AGE_MS) return null;
  const { lat, lon, accuracy } = lastFix;
  return { lat, lon, accuracy };
}

/** Ask for the current position once; resolves {lat, lon, accuracy} or rejects. */
export function locateOnce(timeout = 15000) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("no geolocation"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lastFix = {
          lat: position.coords.latitude,
          lon: position.coords.longitude,
          accuracy: Math.round(position.coords.accuracy),
          at: position.timestamp,
        };
        resolve(lastLocation());
      },
      (error) => reject(new Error(error.message || "position unavailable")),
      { enableHighAccuracy: true, maximumAge: 30000, timeout },
    );
  });
}

/**
 * A finger signature pad on a canvas. Returns {clear, isEmpty, toBlob}. Pointer events cover
 * touch, pen and mouse; the canvas is scaled for the screen's pixel density.
 */
export function signaturePad(canvas) {
  const ratio = Math.max(1, window.devicePixelRatio || 1);
  const context = canvas.getContext("2d");
  let drawing = false;
  let empty = true;
  let last = null;

  function resize() {
    const { width, height } = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(width * ratio));
    canvas.height = Math.max(1, Math.round(height * ratio));
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#111";
    context.fillStyle = "#fff";
    context.fillRect(0, 0, width, height);
    empty = true;
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    context.beginPath();
    context.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
    context.fillStyle = "#111";
    context.fill();
    empty = false;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of events.length ? events : [event]) {
      const next = point(e);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
    }
  });
  const end = () => { drawing = false; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  resize();

  return {
    clear: resize,
    isEmpty: () => empty,
    toBlob: () => canvasToBlob(canvas, "image/png"),
  };
}
