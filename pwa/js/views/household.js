// One household: its record on the phone, its surveys here, and "start / continue survey".
import * as db from "../db.js";
import * as formdef from "../formdef.js";
import * as forms from "../forms.js";
import * as households from "../households.js";
import * as surveys from "../surveys.js";
import { formatTime, label, t } from "../i18n.js";
import { h, replace, toast } from "../ui.js";

export const tab = "households";

function kv(rows) {
  return h("dl", { class: "kv" }, rows.filter(([, v]) => v != null && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export async function render(view, [id], ctx) {
  const household = await households.get(id);
  if (!household) {
    ctx.setTitle(t("hh.title"), "#/households");
    replace(view, h("p", { class: "empty" }, t("hh.not_found")));
    return;
  }
  const name = households.headName(household) || household.code;
  ctx.setTitle(name, "#/households");
  const drafts = (await db.byIndex("drafts", "household_id", household.id))
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  const queued = (await db.getAll("outbox")).filter((i) => i.payload.household_id === household.id);
  const form = await forms.surveyForm();
  const sent = (await db.getAll("sent")).filter((r) => r.household_id === household.id);
  const lastSurveyAt = [...sent.map((r) => r.sent_at), ...queued.map((i) => i.queued_at)].sort().pop() || null;
  const reasons = households.revisitReasons(household, lastSurveyAt);
  const assignment = (await households.assignments())[household.id];

  const start = h("button", {
    type: "button", class: "primary block", id: "start-survey",
    onclick: async () => {
      start.disabled = true;
      try {
        const draft = await surveys.create(household);
        ctx.go(`#/survey/${draft.instance_id}`);
      } catch (error) {
        toast(error.message);
        start.disabled = false;
      }
    },
  }, t("hh.start"));

  const status = t(`status.${household.status}`);
  replace(view,
    h("div", { class: "card" },
      h("div", { class: "hh-name" }, name,
        households.reviewDue(household) ? h("span", { class: "tag due" }, t("hh.due")) : null),
      kv([
        [t("hh.code"), household.code],
        [t("hh.village"), [household.township_name, household.village_name].filter(Boolean).join(" ")],
        [t("hh.address"), household.address],
        [t("hh.area"), t(`hh.area.${household.area_type}`)],
        [t("hh.status"), status],
        [t("hh.phone"), household.phone],
        [t("hh.version"), household.version],
        [t("assess.review"), household.next_review_on],
      ])),
    reasons.length ? h("div", { class: "card", id: "revisit" },
      h("h3", { class: "bad" }, t("hh.revisit")),
      h("ul", {}, reasons.map((r) => h("li", {},
        label(r.label), r.strength === "weak" ? ` (${t("hh.verify_person")})` : "",
        r.due_on ? h("span", { class: "small" }, ` · ${t("hh.due_on", { date: r.due_on })}`) : null)))) : null,
    assignment ? h("p", { class: "info" }, t("hh.assigned"), "：",
      assignment.map((reason) => (t(`assign.${reason}`) === `assign.${reason}` ? reason : t(`assign.${reason}`))).join("、")) : null,
    drafts.map((draft) => h("a", { class: "button primary block", href: `#/survey/${draft.instance_id}` },
      t("hh.continue"), " · ", formatTime(draft.updated_at))),
    drafts.length ? null : start,
    queued.length ? h("p", { class: "info" }, `${t("hh.queued")}: ${queued.length}`) : null,
    h("h2", {}, t("hh.members_title")),
    (household.members || []).map((member) => h("div", { class: "card" },
      h("strong", {}, member.name), " ",
      h("span", { class: "small" }, [
        formdef.recordValueLabel(form, "members", "relation", member.relation),
        formdef.recordValueLabel(form, "members", "sex", member.sex),
        member.birth_date, member.occupation,
      ].filter(Boolean).join(" · ")))),
  );
}
