// /h/<qr_token> (a door label scanned with the phone's own camera) and in-app scans land
// here: open the household from the phone's copy, or look it up online.
import * as api from "../api.js";
import * as households from "../households.js";
import { t } from "../i18n.js";
import { h, replace } from "../ui.js";

export const tab = "scan";

/** Open the household a label token names; returns false when it cannot be found. */
export async function openLabel(token, ctx, status = () => {}) {
  const local = await households.findByLabel(token);
  if (local) {
    ctx.go(`#/household/${local.id}`, { replace: true });
    return true;
  }
  status(t("scan.not_local"));
  try {
    const household = await api.lookupHousehold(token);
    await households.remember(household);
    ctx.go(`#/household/${household.id}`, { replace: true });
    return true;
  } catch (error) {
    status(t("scan.lookup_failed", { error: error.status === 0 ? t("error.network") : error.message }));
    return false;
  }
}

export async function render(view, [token], ctx) {
  ctx.setTitle(t("scan.title"), "#/households");
  const message = h("p", { class: "info", role: "status" }, t("common.loading"));
  replace(view, message);
  const found = await openLabel(token, ctx, (text) => { message.textContent = text; });
  if (!found) {
    message.className = "message";
    view.append(h("a", { class: "button block", href: "#/scan" }, t("scan.title")));
  }
}
