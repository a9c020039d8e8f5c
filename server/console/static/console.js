// Small enhancements of the console's server-rendered pages. Everything works without it;
// it only adds confirmations, select-all boxes and a few conveniences. Loaded as a module
// (deferred), from this origin only: the pages allow no inline script.

/** Ask before submitting a form whose button carries data-confirm="message". */
function confirmations() {
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const message = button?.dataset.confirm || event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
}

/** A checkbox with data-select-all="name" ticks every checkbox called `name` in its form. */
function selectAll() {
  for (const master of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => master.form.querySelectorAll(`input[type=checkbox][name="${master.dataset.selectAll}"]`);
    const sync = () => {
      const list = [...boxes()];
      const ticked = list.filter((box) => box.checked).length;
      master.checked = ticked > 0 && ticked === list.length;
      master.indeterminate = ticked > 0 && ticked < list.length;
      const counter = master.form.querySelector("[data-selected-count]");
      if (counter) counter.textContent = String(ticked);
      for (const button of master.form.querySelectorAll("button[data-needs-selection]")) {
        button.disabled = ticked === 0;
      }
    };
    master.addEventListener("change", () => {
      for (const box of boxes()) box.checked = master.checked;
      sync();
    });
    master.form.addEventListener("change", (event) => {
      if (event.target !== master && event.target.name === master.dataset.selectAll) sync();
    });
    sync();
  }
}

/** A field with data-clears="name ..." empties those fields of its form when changed: a
 * new township drops the village chosen in another one (the list then showed "all" while
 * still filtering by it, and found nothing). Registered before autoSubmit, so the form
 * goes without it. */
function clearsOnChange() {
  document.addEventListener("change", (event) => {
    const names = event.target.dataset?.clears;
    if (!names || !event.target.form) return;
    for (const name of names.split(" ")) {
      const field = event.target.form.elements.namedItem(name);
      if (field) field.value = "";
    }
  });
}

/** A select or checkbox with data-autosubmit submits its form when changed. */
function autoSubmit() {
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });
}

/** A button with data-print prints the page. */
function printButtons() {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
}

/** Enter in an input with data-enter-stays does not submit its form (a note beside the
 * form's buttons: the first of them would answer it, whichever it is). */
function enterStays() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches?.("input[data-enter-stays]")) {
      event.preventDefault();
    }
  });
}

confirmations();
enterStays();
clearsOnChange();
selectAll();
autoSubmit();
printButtons();
