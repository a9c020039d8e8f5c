// Sign-in: username and password, or a scan of the enrolment QR the console shows.
import * as session from "../session.js";
import { serverText, t } from "../i18n.js";
import { h, replace } from "../ui.js";
import { startScanner } from "../qr.js";

export const tab = null;

/** Return the enrolment code carried by a scanned text (URL with ?enrol=, or ruhu-enrol:). */
export function enrolCode(text) {
  const value = String(text || "").trim();
  const prefixed = /^ruhu-enrol:([A-Za-z0-9_-]+)$/.exec(value);
  if (prefixed) return prefixed[1];
  try {
    return new URL(value).searchParams.get("enrol");
  } catch {
    return null;
  }
}

/** Return what a failed sign-in (or enrolment, `enrolling`) says, in the app's language. */
function message(error, { enrolling = false } = {}) {
  if (error.message === "another_user_has_unsent") return t("login.previous_unsent");
  if (error.status === 0) return t("login.offline");
  // The lockout's wait, as the server counts it (errors.retry_after_minutes); an enrolment
  // is locked by wrong codes from this network, not by anyone's password.
  const minutes = Number(error.errors?.retry_after_minutes);
  if (error.code === "auth.rate_limited" && minutes > 0) {
    const key = enrolling ? "login.enrol_locked" : "login.locked";
    return minutes === 1 ? t(`${key}_one`) : t(key, { n: minutes });
  }
  // The server writes "中文 / English": only this language's half.
  const text = serverText(error.message || String(error));
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export async function render(view, _params, ctx) {
  ctx.setTitle(t("login.title"));
  const label = /^#\/label\/([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (label) sessionStorage.setItem("ruhu.label", label[1]);
  const errorBox = h("p", { class: "message", role: "alert", hidden: true });
  const showError = (error, options) => {
    errorBox.textContent = message(error, options);
    errorBox.hidden = false;
  };
  let stopScanner = null;

  const enrolWith = async (code) => {
    errorBox.hidden = true;
    status.textContent = t("login.enrolling");
    status.hidden = false;
    try {
      await session.enrol(code);
      ctx.signedIn();
    } catch (error) {
      status.hidden = true;
      showError(error, { enrolling: true });
    }
  };

  const username = h("input", {
    id: "username", name: "username", autocomplete: "username", autocapitalize: "none", required: true,
    value: session.user()?.username ?? "", // signing in again after a revoked token
  });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary block" }, t("login.submit"));
  const status = h("p", { class: "info", hidden: true });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      submit.disabled = true;
      try {
        await session.signIn(username.value.trim(), password.value);
        ctx.signedIn();
      } catch (error) {
        showError(error);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("div", { class: "field" }, h("label", { for: "username" }, t("login.username")), username),
  h("div", { class: "field" }, h("label", { for: "password" }, t("login.password")), password),
  submit);

  const camera = h("div", { class: "camera", hidden: true }, h("video", { playsinline: true, muted: true }), h("div", { class: "aim" }));
  const scanButton = h("button", {
    type: "button", class: "block",
    onclick: async () => {
      if (stopScanner) {
        stopScanner();
        stopScanner = null;
        camera.hidden = true;
        return;
      }
      errorBox.hidden = true;
      camera.hidden = false;
      try {
        stopScanner = await startScanner(camera.querySelector("video"), (text) => {
          const code = enrolCode(text);
          if (!code) {
            showError(new Error(t("login.not_enrol_code")));
            return false; // keep scanning
          }
          stopScanner?.();
          stopScanner = null;
          camera.hidden = true;
          enrolWith(code);
          return true;
        });
      } catch (error) {
        camera.hidden = true;
        showError(new Error(t("scan.no_camera", { error: error.message })));
      }
    },
  }, t("login.scan"));

  replace(view,
    h("h2", {}, t("app.title")),
    errorBox, status, form,
    h("p", { class: "muted", style: "text-align:center" }, t("login.or")),
    scanButton,
    h("p", { class: "small" }, t("login.scan_hint")),
    camera);

  const pendingCode = sessionStorage.getItem("ruhu.enrol");
  if (pendingCode) {
    sessionStorage.removeItem("ruhu.enrol");
    enrolWith(pendingCode);
  }
  return () => stopScanner?.();
}
