// The outbox and the server's feedback: each survey's state, "sync now", storage use,
// export to a file and import from one (the last resort), corrections.
import * as db from "../db.js";
import * as feedback from "../feedback.js";
import * as formdef from "../formdef.js";
import * as forms from "../forms.js";
import * as households from "../households.js";
import * as outbox from "../outbox.js";
import * as session from "../session.js";
import * as surveys from "../surveys.js";
import { formatBytes, formatTime, t } from "../i18n.js";
import { h, replace, toast } from "../ui.js";
import { refusalBox } from "./refusal.js";

export const tab = "sync";

const STATE_CLASS = { waiting: "waiting", sending: "sending", sent: "sent", attention: "attention" };

function outboxItem(item, ctx, form) {
  const state = item.state;
  const lines = [
    h("div", { class: "row" },
      h("strong", { class: "grow" }, item.household_label || item.payload.household_id),
      h("span", { class: `state ${STATE_CLASS[state]}`, dataset: { state } }, t(`sync.state.${state}`))),
    h("div", { class: "small" }, `${formatTime(item.payload.completed_at)} · ${t("sync.photos", { n: item.media.length })}`),
  ];
  if (state === "sending") {
    if (item.of > 0 && item.photo > 0) {
      lines.push(h("div", { class: "small" }, t("sync.photo_progress", { x: item.photo, y: item.of })));
      lines.push(h("progress", { max: 1, value: item.fraction || 0 }));
    } else {
      lines.push(h("progress", {}));
    }
  }
  if (state === "waiting" && item.attempts > 0) {
    lines.push(h("div", { class: "small" }, `${t("sync.attempts", { n: item.attempts })} · ${t("sync.next_try", { time: formatTime(item.next_at) })}`));
  }
  if (state === "attention" && (item.refusal || item.message)) {
    lines.push(refusalBox(form, item.payload.answers, item.refusal, item.message));
  }
  if (state === "attention" && !item.accepted) {
    // Refused by the server: the survey goes back to the drafts to be fixed and finished.
    lines.push(h("button", {
      type: "button", class: "primary block", dataset: { action: "reopen" },
      onclick: async () => {
        const draft = await surveys.reopen(item.instance_id);
        if (draft) ctx.go(`#/survey/${draft.instance_id}`);
      },
    }, t("sync.reopen")));
  }
  return h("li", { class: "card", dataset: { instance: item.instance_id, state } }, lines);
}

function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (value === true) return t("common.yes");
  if (value === false) return t("common.no");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function conflictLines(conflicts, form, answers) {
  return conflicts.map((c) => h("li", { dataset: { path: c.path } }, t("sync.conflict_line", {
    path: formdef.describePath(form, c.path, answers || {}),
    mine: show(c.submitted),
    theirs: show(c.server),
  })));
}

function sentItem(record, ctx, form, corrections) {
  const conflicts = record.conflicts || [];
  const hasIssues = record.review_state === "has_issues";
  return h("li", { class: "card", dataset: { instance: record.instance_id, state: "sent", review: record.review_state || "" } },
    h("div", { class: "row" },
      h("strong", { class: "grow" }, record.household_label || record.household_id),
      h("span", { class: "state sent", dataset: { state: "sent" } }, t("sync.state.sent"))),
    h("div", { class: "small" }, formatTime(record.sent_at), " · ", t("sync.review_state"), "：",
      h("span", { class: `tag ${hasIssues ? "bad" : record.review_state === "approved" ? "good" : ""}` },
        t(`review.${record.review_state}`) || record.review_state)),
    conflicts.length ? h("div", { class: "message conflicts" },
      h("strong", {}, t("sync.conflicts", { n: conflicts.length })), h("ul", {}, conflictLines(conflicts, form, record.answers))) : null,
    record.review_comment ? h("p", { class: hasIssues ? "message" : "info" }, `${t("sync.comment")}：${record.review_comment}`) : null,
    hasIssues && corrections.has(record.instance_id) ? h("a", {
      class: "button block", href: corrections.get(record.instance_id) ? `#/survey/${corrections.get(record.instance_id)}` : "#/sync",
    }, t("sync.correction_started")) : null,
    hasIssues && !corrections.has(record.instance_id) ? h("button", {
      type: "button", class: "primary block",
      onclick: async () => {
        const household = (await households.get(record.household_id)) || { id: record.household_id, version: null, members: [] };
        try {
          const draft = await surveys.create(household, { corrects: record });
          ctx.go(`#/survey/${draft.instance_id}`);
        } catch (error) {
          toast(error.message);
        }
      },
    }, t("sync.correct")) : null);
}

async function storageCard() {
  const card = h("div", { class: "card", id: "storage" }, h("h3", {}, t("sync.storage")));
  if (navigator.storage?.estimate) {
    const { usage, quota } = await navigator.storage.estimate();
    card.append(h("p", {}, t("sync.storage_use", { used: formatBytes(usage), quota: formatBytes(quota) })));
  }
  if (navigator.storage?.persisted) {
    const persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist?.());
    card.append(h("p", { class: "small" }, persisted ? t("sync.persisted") : t("sync.not_persisted")));
  }
  return card;
}

export async function render(view, _params, ctx) {
  ctx.setTitle(t("sync.title"));
  const queue = h("ul", { class: "hh-list", id: "outbox" });
  const sent = h("ul", { class: "hh-list", id: "sent" });
  const drawQueue = async () => {
    const list = await outbox.items();
    const formsById = new Map();
    for (const item of list) {
      if (!formsById.has(item.payload.form_id)) formsById.set(item.payload.form_id, await forms.get(item.payload.form_id));
    }
    replace(queue, list.length
      ? list.map((item) => outboxItem(item, ctx, formsById.get(item.payload.form_id)))
      : h("li", { class: "empty" }, t("sync.empty")));
  };
  const drawSent = async () => {
    const list = await outbox.sentItems();
    const form = await forms.surveyForm();
    // Surveys already being corrected: original id → the correction's draft (or null once sent).
    const corrections = new Map();
    for (const draft of await db.getAll("drafts")) {
      if (draft.corrects_instance_id) corrections.set(draft.corrects_instance_id, draft.instance_id);
    }
    for (const item of [...(await db.getAll("outbox")).map((i) => i.payload), ...list]) {
      const original = item.corrects_instance_id;
      if (original && !corrections.has(original)) corrections.set(original, null);
    }
    replace(sent, list.length ? list.map((r) => sentItem(r, ctx, form, corrections)) : h("li", { class: "empty" }, t("sync.no_sent")));
  };
  const syncButton = h("button", {
    type: "button", class: "primary block", id: "sync-now",
    onclick: async () => {
      syncButton.disabled = true;
      try {
        await outbox.flush({ force: true });
        await feedback.refresh().catch((error) => toast(t("sync.feedback_failed", { error: error.message })));
        await drawSent();
      } finally {
        syncButton.disabled = false;
      }
    },
  }, "⇅ ", t("sync.now"));

  const importInput = h("input", {
    type: "file", accept: "application/json,.json", id: "import-file",
    onchange: async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (!file) return;
      try {
        toast(t("sync.imported", { n: await outbox.importFile(file) }));
        drawQueue();
      } catch (error) {
        toast(t("sync.import_failed", { error: error.message }));
      }
    },
  });
  const exportButton = h("button", {
    type: "button", class: "block", id: "export",
    onclick: async () => {
      const { blob, count } = await outbox.exportFile();
      const link = h("a", {
        href: URL.createObjectURL(blob),
        download: `ruhu-outbox-${session.user()?.username || "device"}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "")}.json`,
      });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      toast(t("sync.exported", { n: count }));
    },
  }, "⇩ ", t("sync.export"));

  replace(view,
    session.needsSignIn() ? h("p", { class: "message" }, t("sync.signin_again"), " ",
      h("a", { href: "#/login" }, t("login.submit"))) : null,
    syncButton,
    h("h2", {}, t("sync.outbox")), queue,
    h("h2", {}, t("sync.sent_title")), sent,
    await storageCard(),
    exportButton,
    h("label", { class: "button block file-button" }, "⇧ ", t("sync.import"), importInput));
  await drawQueue();
  await drawSent();
  const unsubscribe = outbox.subscribe(() => { drawQueue(); drawSent(); });
  if (navigator.onLine) {
    feedback.refresh().then(drawSent).catch(() => {});
  }
  return unsubscribe;
}
