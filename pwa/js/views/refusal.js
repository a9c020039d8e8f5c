// A survey the server refused, in words the investigator knows: the server's message, then
// each refused answer by its question's label and the member it belongs to (the server
// names them by internal paths such as answers.members[1].member_id_number).
import * as formdef from "../formdef.js";
import { t } from "../i18n.js";
import { h } from "../ui.js";

/**
 * Return the refusal's box. `refusal` is {message, errors} as the server sent it; an item
 * refused before it was kept has only its plain `fallback` text.
 */
export function refusalBox(form, answers, refusal, fallback) {
  if (!refusal) return h("p", { class: "message" }, fallback || "");
  const { message, lines } = formdef.refusalLines(form, answers, refusal);
  return h("div", { class: "message refusal" },
    h("p", {}, message),
    lines.length
      ? h("ul", {}, lines.map((line) => h("li", { dataset: { path: line.path } }, t("v.where", { where: line.where, what: line.messages.join(t("v.and")) }))))
      : null);
}
