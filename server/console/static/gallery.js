// The photo viewer of the submission and conflict pages: a click on a thumbnail opens the
// photo large, with zoom (buttons, wheel, double-click, pinch), panning by dragging, and the
// arrow keys to step through the page's photos. Without JS the thumbnail links still open
// the original image.

const viewer = document.querySelector("[data-viewer]");

if (viewer) {
  const stage = viewer.querySelector("[data-viewer-stage]");
  const image = viewer.querySelector("[data-viewer-image]");
  const caption = viewer.querySelector("[data-viewer-caption]");
  const original = viewer.querySelector("[data-viewer-original]");
  const links = [...document.querySelectorAll("[data-gallery] a[data-full]")];
  let index = -1;
  let scale = 1;
  let x = 0;
  let y = 0;
  let opener = null;

  const apply = () => {
    image.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    viewer.dataset.zoomed = scale > 1 ? "true" : "false";
  };
  const reset = () => {
    scale = 1;
    x = 0;
    y = 0;
    apply();
  };
  const zoom = (factor) => {
    scale = Math.min(8, Math.max(1, scale * factor));
    if (scale === 1) {
      x = 0;
      y = 0;
    }
    apply();
  };

  const show = (i) => {
    index = (i + links.length) % links.length;
    const link = links[index];
    image.src = link.dataset.full;
    image.alt = link.querySelector("img")?.alt || "";
    caption.textContent = `${index + 1} / ${links.length} · ${link.dataset.caption || ""}`;
    original.href = link.dataset.original;
    reset();
  };
  const open = (i, from) => {
    opener = from;
    viewer.hidden = false;
    document.body.classList.add("viewing");
    show(i);
    viewer.querySelector("[data-viewer-close]").focus();
  };
  const close = () => {
    viewer.hidden = true;
    document.body.classList.remove("viewing");
    image.removeAttribute("src");
    opener?.focus();
  };

  links.forEach((link, i) => {
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab, as asked
      event.preventDefault();
      open(i, link);
    });
  });
  viewer.querySelector("[data-viewer-close]").addEventListener("click", close);
  for (const button of viewer.querySelectorAll("[data-viewer-zoom]")) {
    button.addEventListener("click", () => zoom(button.dataset.viewerZoom === "1" ? 1.5 : 1 / 1.5));
  }
  for (const button of viewer.querySelectorAll("[data-viewer-step]")) {
    button.addEventListener("click", () => show(index + Number(button.dataset.viewerStep)));
  }
  document.addEventListener("keydown", (event) => {
    if (viewer.hidden) return;
    const actions = {
      Escape: close,
      ArrowRight: () => show(index + 1),
      ArrowLeft: () => show(index - 1),
      "+": () => zoom(1.5),
      "=": () => zoom(1.5),
      "-": () => zoom(1 / 1.5),
      0: reset,
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  stage.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2);
  }, { passive: false });
  stage.addEventListener("dblclick", () => (scale > 1 ? reset() : zoom(2.5)));
  stage.addEventListener("click", (event) => {
    if (event.target === stage) close();
  });

  // Dragging pans a zoomed photo; two fingers pinch to zoom (tablets).
  const pointers = new Map();
  let pinchStart = 0;
  let scaleStart = 1;
  stage.addEventListener("pointerdown", (event) => {
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    stage.setPointerCapture(event.pointerId);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinchStart = Math.hypot(a.x - b.x, a.y - b.y);
      scaleStart = scale;
    }
  });
  stage.addEventListener("pointermove", (event) => {
    const last = pointers.get(event.pointerId);
    if (!last) return;
    const now = { x: event.clientX, y: event.clientY };
    pointers.set(event.pointerId, now);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      if (pinchStart > 0) {
        scale = Math.min(8, Math.max(1, scaleStart * (distance / pinchStart)));
        apply();
      }
    } else if (scale > 1) {
      x += now.x - last.x;
      y += now.y - last.y;
      apply();
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinchStart = 0;
  };
  stage.addEventListener("pointerup", release);
  stage.addEventListener("pointercancel", release);
}
