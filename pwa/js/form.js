// The survey form on screen: renders one section of a form definition and keeps the
// answers of the draft in step with what is typed. Every change calls `onChange`, which the
// survey screen turns into an IndexedDB write. Meaning (relevance, validation ...) lives in
// formdef.js; this module only draws and reads.
import * as formdef from "./formdef.js";
import * as surveys from "./surveys.js";
import { downscale, lastLocation, locateOnce, sha256, signaturePad } from "./media.js";
import { label, t } from "./i18n.js";
import { h, replace, toast } from "./ui.js";

let fieldSeq = 0;

/** Read an input's text as the question's value type (invalid text stays text: shown as error). */
function parseValue(question, text) {
  const raw = text.trim();
  if (raw === "") return null;
  if (question.type === "integer") return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (question.type === "decimal" || question.type === "money") {
    const normalised = raw.replace(/,/g, "").replace(/[¥￥元]/g, "");
    return /^-?\d+(\.\d+)?$/.test(normalised) ? Number(normalised) : raw;
  }
  return question.type === "text" ? formdef.keptText(question, text) : raw;
}

function choiceValue(question, text, choices = question.choices || []) {
  const choice = choices.find((c) => String(c.value) === text);
  return choice ? choice.value : text;
}

/**
 * A form on screen. `draft.answers` is edited in place; `onChange()` is called after each
 * change; `context` = {team, household} for signatures.
 */
export class FormView {
  constructor({ form, draft, onChange, context = {} }) {
    this.form = form;
    this.draft = draft;
    this.onChange = onChange;
    this.context = context;
    this.fields = [];
    this.urls = [];
    this.showErrors = false;
  }

  get answers() {
    return this.draft.answers;
  }

  /** Render section `index` into `container`. */
  renderSection(container, index) {
    this.dispose();
    this.container = container;
    this.sectionIndex = index;
    const section = formdef.sections(this.form)[index];
    replace(container, h("h2", {}, label(section.label)),
      section.hint ? h("p", { class: "small" }, label(section.hint)) : null,
      this.renderQuestions(section.children, null, this.answers));
    this.refresh();
  }

  /** Re-render the current section (after adding or removing a repeat item). */
  rerender() {
    const scroll = window.scrollY;
    this.renderSection(this.container, this.sectionIndex);
    window.scrollTo(0, scroll);
  }

  /** Release object URLs of thumbnails. */
  dispose() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.fields = [];
  }

  changed() {
    formdef.calculate(this.form, this.answers);
    this.refresh();
    this.onChange();
  }

  /** Update relevance, calculated values and messages without rebuilding inputs. */
  refresh() {
    for (const field of this.fields) field.update();
  }

  /** Show every error of this section (after "next" or "finish"). */
  revealErrors() {
    this.showErrors = true;
    this.refresh();
  }

  renderQuestions(questions, item, target) {
    return (questions || []).map((question) => this.renderQuestion(question, item, target));
  }

  renderQuestion(question, item, target) {
    if (question.type === "calculate") return null;
    if (question.type === "group") {
      const box = h("fieldset", { class: "card", dataset: { name: question.name } },
        h("legend", {}, label(question.label)),
        question.hint ? h("p", { class: "small" }, label(question.hint)) : null,
        this.renderQuestions(question.children, item, target));
      this.fields.push({ update: () => { box.hidden = !formdef.isRelevant(question, this.answers, item); } });
      return box;
    }
    if (question.type === "repeat") return this.renderRepeat(question, target);
    const id = `q${++fieldSeq}`;
    const error = h("div", { class: "error", role: "alert" });
    const warning = h("div", { class: "warning", role: "status" });
    const title = h("label", { for: id }, label(question.label));
    let touched = false;
    const control = this.control(question, id, target, () => { touched = true; });
    const wrapper = h("div", { class: "field", dataset: { name: question.name, type: question.type } },
      question.type === "note" ? null : title,
      question.hint ? h("p", { class: "hint" }, label(question.hint)) : null,
      control, error, warning);
    this.fields.push({
      update: () => {
        const relevant = formdef.isRelevant(question, this.answers, item);
        wrapper.hidden = !relevant;
        title.classList.toggle("req", relevant && formdef.isRequired(question, this.answers, item));
        const message = relevant && (touched || this.showErrors)
          ? formdef.fieldError(question, target[question.name], this.answers, item) : null;
        error.textContent = message || "";
        wrapper.classList.toggle("invalid", Boolean(message));
        // What the server would accept but flag: shown once there is no error to fix first.
        const warnings = relevant && !message && (touched || this.showErrors)
          ? formdef.fieldWarnings(this.form, question, target[question.name], this.answers, item) : [];
        replace(warning, warnings.map((text) => h("div", {}, text)));
        wrapper.classList.toggle("warned", warnings.length > 0);
      },
    });
    return wrapper;
  }

  /** Build the input for one question; `touch()` marks it as visited (show its errors). */
  control(question, id, target, touch) {
    const value = target[question.name];
    const set = (next) => {
      target[question.name] = next;
      this.changed();
    };
    switch (question.type) {
      case "note":
        return h("div", { class: "note" }, label(question.label));
      case "text":
        return h("input", {
          id, type: "text", value: value ?? "", autocomplete: "off",
          oninput: (e) => set(parseValue(question, e.target.value)),
          onblur: (e) => {
            touch();
            // Show what is kept (an ID number without its spaces); a draft typed before
            // ID numbers were kept so is put right by leaving the field.
            const kept = parseValue(question, e.target.value);
            if (kept !== null && kept !== target[question.name]) set(kept);
            if (kept !== null && e.target.value !== kept) e.target.value = kept;
            this.refresh();
          },
        });
      case "integer":
      case "decimal":
      case "money":
        return h("input", {
          id, type: "text", inputmode: question.type === "integer" ? "numeric" : "decimal",
          value: value ?? "", autocomplete: "off",
          oninput: (e) => set(parseValue(question, e.target.value)), onblur: () => { touch(); this.refresh(); },
        });
      case "date":
        return h("input", {
          id, type: "date", value: value ?? "",
          // The picker offers no day after today for the visit (typed, it is an error).
          max: formdef.isVisitDate(question) ? formdef.today() : null,
          oninput: (e) => set(e.target.value || null), onblur: () => { touch(); this.refresh(); },
        });
      case "yes_no":
        return this.choiceGroup(id, question, [
          { value: true, label: { zh: "是", en: "Yes" } }, { value: false, label: { zh: "否", en: "No" } },
        ], value, (v) => { touch(); set(v); });
      case "select_one": {
        const choices = this.choicesOf(question);
        if (choices.length > 8 || question.choices_from) {
          return h("select", {
            id, onchange: (e) => { touch(); set(e.target.value === "" ? null : choiceValue(question, e.target.value, choices)); },
          }, h("option", { value: "" }, "—"),
          choices.map((c) => h("option", { value: String(c.value), selected: c.value === value }, label(c.label))));
        }
        return this.choiceGroup(id, question, choices, value, (v) => { touch(); set(v); });
      }
      case "select_multiple":
        return this.multiGroup(id, question, value || [], (v) => { touch(); set(v); });
      case "geopoint":
        return this.geopoint(question, target, set);
      case "photo":
        return this.photos(question, target, touch);
      case "signature":
        return this.signature(question, target, touch);
      default:
        return h("input", { id, value: value ?? "", oninput: (e) => set(e.target.value) });
    }
  }

  /**
   * Return a question's choices; `choices_from: {repeat, label}` takes them from the items of
   * a repeat (e.g. "which member earns this income": the members by their UUID).
   */
  choicesOf(question) {
    const from = question.choices_from;
    if (!from) return question.choices || [];
    return formdef.liveItems(this.answers[from.repeat]).map((item, index) => ({
      value: item.id,
      label: item[from.label] || t("repeat.item", { n: index + 1 }),
    }));
  }

  choiceGroup(id, question, choices, value, set) {
    const name = `${id}-choice`;
    return h("div", { class: "choices", role: "radiogroup", id },
      choices.map((choice) => h("label", { class: "choice" },
        h("input", {
          type: "radio", name, value: String(choice.value), checked: choice.value === value,
          onchange: () => set(choice.value),
        }),
        h("span", {}, label(choice.label)))));
  }

  multiGroup(id, question, values, set) {
    return h("div", { class: "choices", id },
      (question.choices || []).map((choice) => h("label", { class: "choice" },
        h("input", {
          type: "checkbox", value: String(choice.value), checked: values.includes(choice.value),
          onchange: (e) => {
            const others = values.filter((v) => v !== choice.value);
            values = e.target.checked ? [...others, choice.value] : others;
            set(values);
          },
        }),
        h("span", {}, label(choice.label)))));
  }

  geopoint(question, target, set) {
    const shown = h("span", { class: "small" });
    const show = () => {
      const v = target[question.name];
      shown.textContent = v ? t("geo.value", { lat: v.lat.toFixed(5), lon: v.lon.toFixed(5), acc: v.accuracy ?? "?" }) : "";
    };
    show();
    return h("div", { class: "row" },
      h("button", {
        type: "button",
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            set(await locateOnce());
            show();
          } catch (error) {
            toast(t("geo.failed", { error: error.message }));
          } finally {
            e.target.disabled = false;
          }
        },
      }, "⌖ ", t("geo.get")),
      shown);
  }

  photos(question, target, touch) {
    const instanceId = this.draft.instance_id;
    const grid = h("div", { class: "thumbs" });
    const editor = h("div", { class: "card", hidden: true });
    const status = h("p", { class: "small", role: "status" });
    const categories = question.photo?.categories || null;
    const list = () => target[question.name] || [];

    const edit = (photo) => {
      editor.hidden = false;
      replace(editor,
        h("label", {}, t("photo.caption")),
        h("input", {
          value: photo.caption || "", "aria-label": t("photo.caption"),
          oninput: (e) => { photo.caption = e.target.value; this.changed(); drawGrid(); },
        }),
        categories ? [h("label", {}, t("photo.category")), h("select", {
          onchange: (e) => { photo.category = e.target.value; this.changed(); },
        }, categories.map((c) => h("option", { value: c.value ?? c, selected: (c.value ?? c) === photo.category }, label(c.label ?? c))))] : null,
        h("div", { class: "row", style: "margin-top:.5rem" },
          h("button", { type: "button", class: "grow", onclick: () => { editor.hidden = true; } }, t("common.save")),
          h("button", {
            type: "button", class: "danger grow",
            onclick: async () => {
              if (!confirm(t("photo.remove_confirm"))) return;
              target[question.name] = list().filter((p) => p !== photo);
              await surveys.removeMedia(instanceId, photo.sha256);
              editor.hidden = true;
              this.changed();
              drawGrid();
            },
          }, t("common.delete"))));
    };

    const drawGrid = async () => {
      const nodes = [];
      for (const photo of list()) {
        const blob = await surveys.mediaBlob(instanceId, photo.sha256);
        const url = blob ? URL.createObjectURL(blob) : "";
        if (url) this.urls.push(url);
        nodes.push(h("div", { class: "thumb", onclick: () => edit(photo) },
          url ? h("img", { src: url, alt: photo.caption || label(question.label) }) : null,
          photo.caption ? h("span", { class: "cap" }, photo.caption) : null));
      }
      replace(grid, nodes);
    };

    const add = async (files, fromCamera) => {
      touch();
      for (const file of files) {
        status.textContent = t("photo.processing");
        try {
          const { blob } = await downscale(file);
          const hash = await sha256(blob);
          if (list().some((p) => p.sha256 === hash)) continue;
          const capturedAt = new Date(fromCamera ? Date.now() : file.lastModified || Date.now()).toISOString();
          const location = lastLocation();
          const category = question.photo?.category ?? null;
          await surveys.addMedia(instanceId, { blob, sha256: hash, kind: "photo", question: question.name, category, capturedAt, location });
          target[question.name] = [...list(), { sha256: hash, category, caption: "", captured_at: capturedAt, location }];
          this.changed();
        } catch (error) {
          // The browser cannot decode it: not a picture (a document, a damaged file).
          const notPicture = error?.name === "InvalidStateError" || error?.name === "EncodingError";
          toast(notPicture ? t("photo.not_picture") : t("photo.failed", { error: error.message }));
        }
      }
      status.textContent = "";
      drawGrid();
    };

    const picker = (text, attrs, fromCamera) => h("label", { class: "button file-button grow" }, text,
      h("input", {
        type: "file", accept: "image/*", ...attrs,
        onchange: (e) => { add([...e.target.files], fromCamera); e.target.value = ""; },
      }));

    drawGrid();
    return h("div", { class: "photo-field" },
      grid, editor, status,
      h("div", { class: "row" },
        picker(t("photo.take"), { capture: "environment", dataset: { role: "camera" } }, true),
        picker(t("photo.pick"), { multiple: true, dataset: { role: "gallery" } }, false)));
  }

  signature(question, target, touch) {
    const instanceId = this.draft.instance_id;
    const role = question.signature?.role || "household";
    const box = h("div", { class: "signature-field" });
    const team = this.context.team || [];
    // Investigator signatures go to the team's members in the order the form asks for them.
    const teamMember = role === "investigator"
      ? team[formdef.investigatorSignatures(this.form).indexOf(question)] : null;

    const showSigned = async () => {
      const answer = target[question.name];
      const blob = await surveys.mediaBlob(instanceId, answer.sha256);
      const url = blob ? URL.createObjectURL(blob) : "";
      if (url) this.urls.push(url);
      replace(box,
        url ? h("img", { class: "sig-img", src: url, alt: label(question.label) }) : null,
        h("p", {}, answer.signer_name || ""),
        h("button", {
          type: "button",
          onclick: async () => {
            await surveys.removeMedia(instanceId, answer.sha256);
            target[question.name] = null;
            this.changed();
            showPad();
          },
        }, t("sig.redo")));
    };

    const showPad = () => {
      let pad = { clear() {}, isEmpty: () => true, toBlob: async () => null };
      const canvas = h("canvas", { class: "sigpad", "aria-label": label(question.label) });
      const name = h("input", {
        value: teamMember?.name ?? "", placeholder: t("sig.signer"), "aria-label": t("sig.signer"),
        list: role === "household" ? "members-list" : null,
      });
      const members = role === "household"
        ? h("datalist", { id: "members-list" }, (this.context.household?.members || []).map((m) => h("option", { value: m.name })))
        : null;
      replace(box, canvas, h("div", { class: "field" }, name, members),
        h("div", { class: "row" },
          h("button", { type: "button", class: "grow", onclick: () => pad.clear() }, t("sig.clear")),
          h("button", {
            type: "button", class: "primary grow",
            onclick: async () => {
              if (pad.isEmpty()) {
                toast(t("sig.empty"));
                return;
              }
              if (!name.value.trim()) {
                // The server refuses a signature without its signer's name: a survey sent
                // with one would come back refused, and a finished survey cannot be edited.
                toast(t("sig.need_name"));
                name.focus();
                return;
              }
              touch();
              const blob = await pad.toBlob();
              const hash = await sha256(blob);
              await surveys.addMedia(instanceId, {
                blob, sha256: hash, kind: "signature", question: question.name, category: "signature",
                capturedAt: new Date().toISOString(), location: lastLocation(),
              });
              target[question.name] = {
                sha256: hash, role, signer_name: name.value.trim(),
                ...(teamMember ? { user_id: teamMember.id } : {}),
              };
              this.changed();
              showSigned();
            },
          }, t("sig.done"))));
      // The canvas must be in the page to know its size.
      requestAnimationFrame(() => { pad = signaturePad(canvas); });
    };

    if (target[question.name]?.sha256) showSigned();
    else showPad();
    return box;
  }

  renderRepeat(question, target) {
    const items = () => target[question.name] || [];
    const box = h("div", { class: "repeat", dataset: { name: question.name } });
    const titleOf = (item, index) => formdef.itemName(question, item, index);
    const draw = () => {
      replace(box,
        h("h3", {}, label(question.label)),
        question.hint ? h("p", { class: "small" }, label(question.hint)) : null,
        items().map((item, index) => {
          const removed = Boolean(item._removed);
          const card = h("div", { class: `card repeat-item${removed ? " removed" : ""}`, dataset: { item: item.id } },
            h("h3", {}, h("span", {}, titleOf(item, index), removed ? ` ${t("repeat.removed")}` : ""),
              h("button", {
                type: "button", class: removed ? "" : "danger",
                onclick: () => {
                  // An item from the master record is marked removed (the server removes it);
                  // an item added on this phone simply goes.
                  if (removed) delete item._removed;
                  else if (item._new) target[question.name] = items().filter((i) => i !== item);
                  else item._removed = true;
                  this.changed();
                  this.rerender();
                },
              }, removed ? t("repeat.restore") : t("repeat.remove"))),
            removed ? null : this.renderQuestions(question.children, item, item));
          return card;
        }),
        h("button", {
          type: "button", class: "block",
          onclick: () => {
            target[question.name] = [...items(), { ...formdef.newItem(), _new: true }];
            this.changed();
            this.rerender();
          },
        }, "＋ ", t("repeat.add"), " ", label(question.label)));
    };
    draw();
    this.fields.push({ update: () => { box.hidden = !formdef.isRelevant(question, this.answers); } });
    return box;
  }
}
