// The signed-in user, language, forms on the phone, app version, sign-out.
import * as db from "../db.js";
import * as forms from "../forms.js";
import * as outbox from "../outbox.js";
import * as session from "../session.js";
import { label, lang, setLang, t } from "../i18n.js";
import { h, replace } from "../ui.js";

export const tab = "me";

/** The version of the shell the service worker holds (from its cache's name). */
async function shellVersion() {
  if (!("caches" in self)) return "—";
  const name = (await caches.keys()).find((key) => key.startsWith("ruhu-shell-"));
  return name ? name.slice("ruhu-shell-".length, "ruhu-shell-".length + 8) : "—";
}

export async function render(view, _params, ctx) {
  ctx.setTitle(t("me.title"));
  const user = session.user();
  const formList = await forms.all();
  const pending = await outbox.pendingCount();
  const drafts = await db.count("drafts");
  replace(view,
    h("div", { class: "card" },
      h("h3", {}, t("me.user")),
      h("p", {}, `${user.display_name || user.username} (${user.username})`),
      h("p", { class: "small" }, user.region_name || "")),
    h("div", { class: "card" },
      h("h3", {}, t("me.language")),
      h("div", { class: "choices" },
        [["zh", "中文"], ["en", "English"]].map(([code, name]) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "lang", checked: lang() === code, onchange: () => setLang(code) }),
          h("span", {}, name))))),
    h("div", { class: "card" },
      h("h3", {}, t("me.forms")),
      formList.length ? h("ul", {}, formList.map((f) => h("li", {}, `${label(f.title)} ${f.version}`))) : h("p", { class: "small" }, t("survey.no_form")),
      h("p", { class: "small" }, `${t("me.device")}: ${session.device().slice(0, 8)}`),
      h("p", { class: "small" }, `${t("me.version")}: ${await shellVersion()}`)),
    h("button", {
      type: "button", class: "danger block", id: "sign-out",
      onclick: async () => {
        // Finished surveys can be exported first; surveys still being filled cannot (the
        // export holds the outbox only): the warning says which is which.
        const question = pending || drafts
          ? [pending ? t("me.signout_pending", { n: pending }) : null,
            drafts ? t("me.signout_drafts", { n: drafts }) : null,
            t("me.signout_anyway")].filter(Boolean).join("\n")
          : t("me.signout_confirm");
        if (!confirm(question)) return;
        await session.signOut();
        ctx.go("#/login", { replace: true });
      },
    }, t("me.signout")));
}
