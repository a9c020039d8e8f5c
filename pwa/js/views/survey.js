// Filling a survey: one section at a time (看 问 听 查), then the assessment and "finish".
// Every change is written to IndexedDB at once (autosave): closing the page loses nothing.
import * as db from "../db.js";
import * as forms from "../forms.js";
import * as formdef from "../formdef.js";
import * as households from "../households.js";
import * as session from "../session.js";
import * as surveys from "../surveys.js";
import { assess } from "../assessment.js";
import { FormView } from "../form.js";
import { startLocating, stopLocating } from "../media.js";
import { formatMoney, formatTime, label, t } from "../i18n.js";
import { h, replace, toast } from "../ui.js";
import { refusalBox } from "./refusal.js";

export const tab = "households";

/** A section's tab text: "看" for "看:家庭实际生活状况" (the part before the colon). */
function shortLabel(section) {
  return label(section.label).split(/[:：]/)[0].trim();
}

function assessmentCard(result) {
  if (!result) return null;
  if (result.error) return h("div", { class: "assess" }, h("p", { class: "small" }, t("assess.unavailable", { error: result.error })));
  const failed = (result.checks || []).filter((c) => !c.passed);
  const rows = [
    [result.unit === "year" ? t("assess.income_year") : t("assess.income"), formatMoney(result.household_income)],
    [t("assess.members"), result.counted_members],
    [t("assess.per_capita"), formatMoney(result.per_capita_income)],
    [t("assess.standard"), formatMoney(result.standard)],
    [t("assess.benefit"), formatMoney(result.benefit)],
    result.benefit_class ? [t("assess.class"), result.benefit_class] : null,
    result.next_review_on ? [t("assess.review"), result.next_review_on] : null,
  ].filter(Boolean);
  return h("div", { class: "assess", id: "assessment" },
    h("h3", {}, t("assess.title")),
    h("p", { class: `verdict ${result.eligible ? "ok" : "bad"}` },
      result.eligible ? t("assess.eligible") : t("assess.not_eligible"),
      result.near_poverty ? h("span", { class: "tag due" }, t("assess.near")) : null,
      result.county_review ? h("span", { class: "tag bad" }, t("assess.county")) : null),
    h("dl", { class: "kv" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    failed.length
      ? [h("h3", {}, t("assess.checks")), h("ul", { class: "checks" }, failed.map((c) => h("li", { class: "bad" }, label(c.reason) || c.id)))]
      : h("p", { class: "ok" }, t("assess.all_passed")));
}

export async function render(view, [instanceId], ctx) {
  const draft = await surveys.get(instanceId);
  if (!draft) {
    ctx.setTitle(t("survey.title"), "#/households");
    const queued = await db.get("outbox", instanceId);
    replace(view, h("p", { class: "empty" }, queued ? t("survey.read_only") : t("survey.not_found")),
      queued ? h("a", { class: "button block", href: "#/sync" }, t("tab.sync")) : null);
    return;
  }
  const form = await forms.get(draft.form_id);
  if (!form) {
    replace(view, h("p", { class: "message" }, t("survey.no_form")));
    return;
  }
  const household = (await households.get(draft.household_id)) || {};
  ctx.setTitle(draft.household_label || t("survey.title"), `#/household/${draft.household_id}`);
  startLocating();

  const savedNote = h("div", { class: "saved", role: "status", id: "saved" });
  const save = surveys.autosaver((error) => {
    savedNote.textContent = error ? String(error) : t("survey.saved", { time: formatTime(new Date()) });
    savedNote.dataset.savedAt = String(Date.now());
  });
  if (formdef.tidyAnswers(form, draft.answers)) save(draft);
  const formView = new FormView({
    form, draft, onChange: () => save(draft),
    // A getter: the team may change on the review tab after the form was built.
    context: { get team() { return draft.team; }, household },
  });
  const sectionList = formdef.sections(form);
  const reviewIndex = sectionList.length;
  const tabs = h("nav", { class: "sections", "aria-label": t("survey.title") });
  const body = h("div", { id: "section" });
  const nav = h("div", { class: "section-nav" });

  const show = (index) => {
    draft.section = index;
    save(draft);
    replace(tabs, sectionList.map((section, i) => h("button", {
      type: "button", class: i === index ? "current" : "", "aria-current": i === index ? "step" : null,
      onclick: () => show(i), dataset: { section: section.name },
    }, shortLabel(section))), h("button", {
      type: "button", class: index === reviewIndex ? "current" : "", onclick: () => show(reviewIndex), dataset: { section: "review" },
    }, "✓ ", t("survey.review")));
    tabs.querySelector(".current")?.scrollIntoView({ block: "nearest", inline: "center" });
    if (index === reviewIndex) {
      formView.dispose();
      renderReview();
    } else {
      formView.renderSection(body, index);
      replace(nav,
        index > 0 ? h("button", { type: "button", onclick: () => show(index - 1) }, "‹ ", t("survey.prev")) : null,
        h("button", { type: "button", class: "primary", onclick: () => { formView.revealErrors(); show(index + 1); } },
          index + 1 < reviewIndex ? [t("survey.next"), " ›"] : [t("survey.review"), " ›"]));
    }
    window.scrollTo(0, 0);
  };

  const teamPicker = async () => {
    const me = session.user();
    const teammates = ((await db.getSetting("teammates")) || []).filter((u) => u.id !== me.id);
    const current = draft.team[1]?.id ?? "";
    return h("div", { class: "card" },
      h("h3", {}, t("survey.team")),
      h("p", {}, me.display_name || me.username),
      h("label", { for: "teammate" }, t("survey.teammate")),
      h("select", {
        id: "teammate",
        onchange: async (e) => {
          const mate = teammates.find((u) => String(u.id) === e.target.value);
          draft.team = mate ? [draft.team[0], { id: mate.id, name: mate.display_name || mate.username }] : [draft.team[0]];
          draft.investigator_ids = draft.team.map((m) => m.id);
          // The second investigator's signature belongs to the teammate: one signed before
          // the teammate was chosen (or by another) is cleared, to be signed again by them.
          const second = formdef.investigatorSignatures(form)[1];
          const signed = second && draft.answers[second.name];
          if (signed?.sha256 && signed.user_id !== mate?.id) {
            await surveys.removeMedia(draft.instance_id, signed.sha256);
            draft.answers[second.name] = null;
            toast(t("survey.resign_teammate"));
          }
          save(draft);
        },
      }, h("option", { value: "" }, t("survey.teammate_pick")),
      teammates.map((u) => h("option", { value: String(u.id), selected: u.id === current }, u.display_name || u.username))));
  };

  const renderReview = async () => {
    formdef.calculate(form, draft.answers);
    const errors = formdef.validate(form, draft.answers);
    const result = await assess({ form, draft, household });
    const finish = h("button", {
      type: "button", class: "primary block", id: "finish", disabled: errors.length > 0,
      onclick: async () => {
        finish.disabled = true;
        try {
          await save.flush();
          await surveys.finish(draft, form);
          toast(t("survey.queued"));
          ctx.refreshBadge();
          ctx.go("#/sync", { replace: true });
        } catch (error) {
          toast(error.message);
          finish.disabled = false;
        }
      },
    }, t("survey.finish"));
    replace(body,
      draft.corrects_instance_id ? h("p", { class: "info" }, t("survey.correction", { id: draft.corrects_instance_id.slice(0, 8) })) : null,
      await teamPicker(),
      assessmentCard(result),
      errors.length ? h("div", { class: "card", id: "errors" },
        h("p", { class: "bad" }, t("survey.errors", { n: errors.length })),
        h("ul", {}, errors.map((e) => h("li", {},
          h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); formView.showErrors = true; show(e.section); } },
            t("v.where", { where: `${label(sectionList[e.section].label)} · ${label(e.question.label)}`, what: e.message })))))) : null,
      finish,
      h("button", {
        type: "button", class: "danger block",
        onclick: async () => {
          if (!confirm(t("survey.discard_confirm"))) return;
          await surveys.discard(draft.instance_id);
          ctx.go(`#/household/${draft.household_id}`, { replace: true });
        },
      }, t("survey.discard")));
    replace(nav);
  };

  // A survey the server refused and the investigator took back: what to fix stays in view.
  const refused = draft.refused || draft.refusal
    ? h("div", { class: "card", id: "refused" }, h("h3", {}, t("survey.refused")),
      refusalBox(form, draft.answers, draft.refusal, draft.refused))
    : null;
  // A second survey of the household before the next download starts from the first one.
  const continues = draft.continues_at
    ? h("p", { class: "info", id: "continues" }, t("survey.continues", { time: formatTime(draft.continues_at) }))
    : null;
  replace(view, refused, continues, tabs, savedNote, body, nav);
  show(Math.min(draft.section || 0, reviewIndex));

  // Writes are already durable after each change; this only finishes one still in flight.
  const onHide = () => { save.flush(); };
  addEventListener("pagehide", onHide);
  return () => {
    removeEventListener("pagehide", onHide);
    save.flush();
    formView.dispose();
    stopLocating();
  };
}
