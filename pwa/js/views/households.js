// The household list: download (delta, with progress), search by name, code and village.
import * as db from "../db.js";
import * as households from "../households.js";
import * as session from "../session.js";
import * as forms from "../forms.js";
import { formatTime, t } from "../i18n.js";
import { h, replace, toast } from "../ui.js";

export const tab = "households";
const SHOWN = 100;
const REFRESH_AFTER_MS = 4 * 60 * 60 * 1000;
let lastQuery = "";

function tags(household, userId, drafts, assigned) {
  const list = [];
  if (households.assignedTo(household, userId, assigned)) list.push(h("span", { class: "tag assigned" }, t("hh.assigned")));
  if (households.revisitReasons(household).length) list.push(h("span", { class: "tag bad" }, t("hh.revisit")));
  if (households.reviewDue(household)) list.push(h("span", { class: "tag due" }, t("hh.due")));
  if (drafts.has(household.id)) list.push(h("span", { class: "tag" }, t("hh.draft")));
  return list;
}

function row(household, userId, drafts, assigned) {
  const name = households.headName(household) || household.code;
  return h("li", {}, h("a", { href: `#/household/${household.id}` },
    h("div", { class: "hh-name" }, name, tags(household, userId, drafts, assigned)),
    h("div", { class: "hh-meta" },
      `${household.code} · ${household.village_name || ""} · ${t("hh.members", { n: (household.members || []).length })}`),
  ));
}

export async function render(view, _params, ctx) {
  ctx.setTitle(t("hh.title"));
  const userId = session.user()?.id;
  let list = await households.all();
  const drafts = new Set((await db.getAll("drafts")).map((d) => d.household_id));
  const syncedAt = await db.getSetting("households_synced_at");
  let assigned = await households.assignments();

  const progress = h("div", { class: "progress", hidden: true },
    h("progress", { max: 1 }), h("p", { class: "small", role: "status" }));
  const meta = h("p", { class: "small" });
  const results = h("ul", { class: "hh-list", id: "household-list" });
  const search = h("input", {
    type: "search", id: "search", placeholder: t("hh.search"), value: lastQuery, "aria-label": t("hh.search"),
    enterkeyhint: "search", oninput: () => show(),
  });

  function show() {
    lastQuery = search.value;
    const matches = households.search(list, search.value);
    const nodes = matches.slice(0, SHOWN).map((hh) => row(hh, userId, drafts, assigned));
    replace(results, nodes.length ? nodes : h("li", { class: "empty" }, list.length ? t("hh.none_found") : t("hh.never")));
    meta.textContent = list.length
      ? `${t("hh.count", { shown: matches.length, total: list.length })}${syncedAt ? " · " + t("hh.last_sync", { time: formatTime(syncedAt) }) : ""}`
      : "";
  }

  const downloadButton = h("button", {
    type: "button", class: "block", id: "download",
    onclick: async () => {
      downloadButton.disabled = true;
      progress.hidden = false;
      const bar = progress.querySelector("progress");
      const text = progress.querySelector("p");
      bar.removeAttribute("value"); // indeterminate until the first page says how much is left
      text.textContent = t("hh.downloading", { count: 0 });
      try {
        const count = await households.download(({ count: done, remaining }) => {
          if (remaining != null) {
            bar.max = done + remaining || 1;
            bar.value = done;
          }
          text.textContent = t("hh.downloading", { count: done });
        });
        bar.max = 1;
        bar.value = 1;
        text.textContent = t("hh.downloaded", { count });
        list = await households.all();
        show();
        // Forms, policies and the team come with the households (each may fail alone).
        await Promise.all([
          forms.refresh().catch((error) => toast(error.status === 0 ? t("error.network") : error.message)),
          session.refreshTeam().catch((error) => console.warn("team not downloaded", error)),
          households.refreshAssignments().then((map) => { assigned = map; show(); })
            .catch((error) => console.warn("assignments not downloaded", error)),
        ]);
      } catch (error) {
        progress.hidden = true;
        toast(error.status === 0 ? t("error.network") : error.message);
      } finally {
        downloadButton.disabled = false;
      }
    },
  }, "⇣ ", t("hh.download"));

  replace(view,
    h("div", { class: "search" }, search),
    downloadButton, progress, meta, results);
  show();
  // First sign-in on this phone, or a copy older than a few hours: refresh it now (the
  // list stays usable meanwhile).
  const stale = !syncedAt || Date.now() - Date.parse(syncedAt) > REFRESH_AFTER_MS;
  if (navigator.onLine && stale && !households.isDownloading()) downloadButton.click();
}
