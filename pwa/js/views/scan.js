// Find a household by its door label: live camera, a photo of the label, or its code.
import * as households from "../households.js";
import { decodeImage, startScanner } from "../qr.js";
import { t } from "../i18n.js";
import { h, replace } from "../ui.js";
import { openLabel } from "./label.js";

export const tab = "scan";

export async function render(view, _params, ctx) {
  ctx.setTitle(t("scan.title"));
  let stop = null;
  const message = h("p", { class: "info", role: "status", hidden: true });
  const say = (text, bad = false) => {
    message.textContent = text;
    message.className = bad ? "message" : "info";
    message.hidden = !text;
  };
  const video = h("video", { playsinline: true, muted: true, id: "camera-video" });
  const camera = h("div", { class: "camera", hidden: true }, video, h("div", { class: "aim" }));

  const found = async (text) => {
    const token = households.qrToken(text);
    if (!token) {
      say(t("scan.unknown", { text }), true);
      return false;
    }
    stopCamera();
    say(t("common.loading"));
    if (!(await openLabel(token, ctx, (s) => say(s, true)))) {
      cameraButton.disabled = false;
    }
    return true;
  };

  const stopCamera = () => {
    stop?.();
    stop = null;
    camera.hidden = true;
    cameraButton.textContent = t("scan.start");
  };

  const cameraButton = h("button", {
    type: "button", class: "primary block", id: "scan-camera",
    onclick: async () => {
      if (stop) {
        stopCamera();
        return;
      }
      say("");
      camera.hidden = false;
      cameraButton.textContent = t("scan.stop");
      try {
        stop = await startScanner(video, (text) => { found(text); return Boolean(households.qrToken(text)); });
      } catch (error) {
        stopCamera();
        say(t("scan.no_camera", { error: error.message }), true);
      }
    },
  }, t("scan.start"));

  const photoInput = h("input", {
    type: "file", accept: "image/*", id: "scan-photo",
    onchange: async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (!file) return;
      say(t("common.loading"));
      try {
        const text = await decodeImage(file);
        if (text) await found(text);
        else say(t("scan.no_qr"), true);
      } catch (error) {
        say(error.message, true);
      }
    },
  });

  const code = h("input", { id: "scan-code", inputmode: "text", autocomplete: "off", placeholder: "230229…", "aria-label": t("scan.code") });
  const codeForm = h("form", {
    class: "row",
    onsubmit: async (e) => {
      e.preventDefault();
      const value = code.value.trim();
      if (!value) return;
      const household = await households.findByLabel(value);
      if (household) ctx.go(`#/household/${household.id}`);
      else say(t("hh.not_found"), true);
    },
  }, h("div", { class: "grow" }, code), h("button", { type: "submit" }, t("scan.open")));

  replace(view,
    message,
    cameraButton,
    camera,
    h("p", { class: "small", style: "text-align:center" }, t("scan.hint")),
    h("label", { class: "button block file-button" }, t("scan.photo"), photoInput),
    h("label", { for: "scan-code" }, t("scan.code")),
    codeForm);
  // Open the camera straight away: scanning is why the investigator came here.
  if (navigator.mediaDevices?.getUserMedia) cameraButton.click();
  return stopCamera;
}
