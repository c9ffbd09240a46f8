// camera.js: the page's frame sources. Each source is {element, label, kind, stop(), tick?()}:
// `element` is what engines read (a video, an image or a canvas); `tick` advances generated ones.

/** Cameras the browser will tell us about (labels appear once permission is given). */
export async function listCameras() {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === "videoinput");
}

/** A one-line message for a getUserMedia failure. */
export function cameraMessage(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError")
    return "Camera access was denied. Allow the camera in the browser's site settings, or use a video/image file or the generated clip below.";
  if (name === "NotFoundError" || name === "OverconstrainedError")
    return "No camera was found. Use a video/image file or the generated clip below.";
  if (name === "NotReadableError") return "The camera is busy in another application. Use a file or the generated clip meanwhile.";
  return `The camera could not start (${name || err?.message || err}). Use a file or the generated clip below.`;
}

/** Open a camera (a deviceId, or the default one); resolves once frames flow. */
export async function openCamera(deviceId) {
  if (!navigator.mediaDevices?.getUserMedia) {
    const e = new Error("this browser offers no camera access here (a secure context is needed)");
    e.name = "NotFoundError";
    throw e;
  }
  // 640 x 480: the degradation averages the picture down to an 11 x 11 grid, so more pixels add no
  // detail, only the cost of reading them (720p: 10.5 ms a frame on a 2-core CPU, 480p: 3.8 ms)
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { deviceId: deviceId ? { exact: deviceId } : undefined, width: { ideal: 640 }, height: { ideal: 480 } },
    audio: false,
  });
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  await waitForPixels(video);
  const track = stream.getVideoTracks()[0];
  return { element: video, kind: "camera", label: track?.label || "camera",
           stop() { stream.getTracks().forEach((t) => t.stop()); video.srcObject = null; } };
}

function waitForPixels(video) {
  if (video.videoWidth > 0 && video.readyState >= 2) return Promise.resolve();
  return new Promise((resolve, reject) => {
    video.addEventListener("loadeddata", () => resolve(), { once: true });
    video.addEventListener("error", () => reject(new Error("the video cannot be decoded")), { once: true });
  });
}

/** A video or image file chosen by the user; videos loop. */
export async function openFile(file) {
  const url = URL.createObjectURL(file);
  if (file.type.startsWith("image/")) {
    const img = new Image();
    img.src = url;
    try { await img.decode(); } catch { URL.revokeObjectURL(url); throw new Error(`${file.name}: not an image this browser can decode`); }
    return { element: img, kind: "image", label: file.name, stop() { URL.revokeObjectURL(url); } };
  }
  const video = document.createElement("video");
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.src = url;
  try {
    await video.play();
    await waitForPixels(video);
  } catch {
    URL.revokeObjectURL(url);
    throw new Error(`${file.name}: not a video this browser can play`);
  }
  return { element: video, kind: "video", label: file.name, stop() { video.pause(); video.removeAttribute("src"); URL.revokeObjectURL(url); } };
}

/**
 * A generated clip for when there is no camera: slow drifting shapes and a horizon, drawn on a
 * canvas each frame, so the generator always has something structured to re-imagine.
 */
export function generatedClip(width = 640, height = 480) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const t0 = performance.now();
  const draw = () => {
    const t = (performance.now() - t0) / 1000;
    const sky = ctx.createLinearGradient(0, 0, 0, height);
    sky.addColorStop(0, "#0b1020");
    sky.addColorStop(0.55 + 0.05 * Math.sin(t * 0.3), "#4a6fa5");
    sky.addColorStop(1, "#d9c7a0");
    ctx.fillStyle = sky;
    ctx.fillRect(0, 0, width, height);
    for (let i = 0; i < 5; i++) {
      const x = width * (0.5 + 0.38 * Math.sin(t * (0.21 + 0.07 * i) + i * 1.7));
      const y = height * (0.45 + 0.3 * Math.cos(t * (0.17 + 0.05 * i) + i));
      const r = height * (0.08 + 0.05 * i);
      const g = ctx.createRadialGradient(x, y, 0, x, y, r);
      g.addColorStop(0, `rgba(255,255,255,${0.85 - i * 0.12})`);
      g.addColorStop(1, "rgba(255,255,255,0)");
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.fillStyle = "#1a1a1a";
    ctx.beginPath();
    ctx.moveTo(0, height);
    for (let x = 0; x <= width; x += 8) ctx.lineTo(x, height * (0.78 + 0.06 * Math.sin(x / 70 + t * 0.5)));
    ctx.lineTo(width, height);
    ctx.fill();
  };
  draw();
  return { element: canvas, kind: "clip", label: "generated clip", tick: draw, stop() {} };
}
