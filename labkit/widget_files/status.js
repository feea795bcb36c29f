// Status: where a widget's verdicts appear, in a live region, so a screen reader announces each
// one (role="status"; role="alert" when something failed). The regions exist before any
// verdict arrives: live regions added together with their text are not announced.
function render({ model, el }) {
  el.classList.add("labkit-anywidget");
  const box = document.createElement("div");
  box.className = "labkit-status";
  box.tabIndex = -1; // focus can be moved here (never by Tab) when a control goes away
  const polite = document.createElement("div");
  polite.className = "labkit-status-part";
  polite.setAttribute("role", "status");
  const urgent = document.createElement("div");
  urgent.className = "labkit-status-part";
  urgent.setAttribute("role", "alert");
  box.append(polite, urgent);
  el.append(box);

  const node = (bundle) => {
    const data = (bundle && bundle.data) || {};
    const div = document.createElement("div");
    if (data["text/html"]) {
      div.innerHTML = data["text/html"]; // the kernel's own escaped verdict HTML
    } else {
      div.className = "labkit-status-text";
      div.textContent = data["text/plain"] || "";
    }
    return div;
  };
  let queued = false;
  const draw = () => {
    queued = false;
    const target = model.get("urgent") ? urgent : polite;
    const other = target === urgent ? polite : urgent;
    other.replaceChildren();
    target.replaceChildren(...(model.get("outputs") || []).map(node));
  };
  // Both traits may change in one message: draw once, so nothing is announced twice.
  const later = () => {
    if (!queued) { queued = true; queueMicrotask(draw); }
  };
  draw();
  model.on("change:outputs", later);
  model.on("change:urgent", later);
  const onMessage = (msg) => {
    if (msg && msg.event === "focus") box.focus();
  };
  model.on("msg:custom", onMessage);
  return () => {
    model.off("change:outputs", later);
    model.off("change:urgent", later);
    model.off("msg:custom", onMessage);
  };
}
export default { render };
