// Keyboard shortcuts of the submission page: a link with data-shortcut="n" is followed when
// its key is pressed (N: next in the queue, Q: back to the queue). Keys typed into a field
// (the decision's comment) and keys the photo viewer handles while open are left alone.

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
  const viewer = document.querySelector("[data-viewer]");
  if (viewer && !viewer.hidden) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : "";
  const link = key && document.querySelector(`a[data-shortcut="${key}"]`);
  if (link) {
    event.preventDefault();
    link.click();
  }
});
