// SecretReveal: the console's one-time "Retrieve access keys" page.
const MASK = "•".repeat(40);
let cards = 0;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el: root }) {
  root.classList.add("labkit-anywidget");
  cards += 1;
  const id = `labkit-reveal-${cards}-${Math.random().toString(36).slice(2, 8)}`;
  const card = el("div", "labkit-reveal");
  card.setAttribute("role", "group");
  card.setAttribute("aria-labelledby", `${id}-title`);
  const heading = el("div", "labkit-reveal-title", "Retrieve access keys");
  heading.id = `${id}-title`;
  // The notice becomes "Saved..." once confirmed: a live region announces that change.
  const notice = el("div", "labkit-reveal-notice");
  notice.setAttribute("role", "status");
  notice.tabIndex = -1;
  const table = el("table");
  const idRow = el("tr");
  const idCode = el("code");
  const copyId = el("button", "labkit-reveal-button", "Copy");
  copyId.setAttribute("aria-label", "Copy access key ID");
  const idCell = el("td");
  idCell.append(idCode, copyId);
  idRow.append(el("th", "", "Access key"), idCell);
  const secretRow = el("tr");
  // Masked, the field is 40 bullets: a screen reader hears the spoken label instead.
  const spoken = el("span", "labkit-sr-only");
  const secretCode = el("code", "labkit-reveal-secret", MASK);
  const showButton = el("button", "labkit-reveal-button", "Show");
  const copySecret = el("button", "labkit-reveal-button", "Copy");
  copySecret.setAttribute("aria-label", "Copy secret access key");
  const secretCell = el("td");
  secretCell.append(spoken, secretCode, showButton, copySecret);
  secretRow.append(el("th", "", "Secret access key"), secretCell);
  table.append(idRow, secretRow);
  const meta = el("div", "labkit-reveal-meta");
  const status = el("div", "labkit-reveal-status");
  status.setAttribute("role", "status");
  const confirm = el("button", "labkit-reveal-confirm", "I have saved my secret access key");
  card.append(heading, notice, table, meta, confirm, status);
  root.append(card);

  let shown = false;
  let pendingCopy = null;

  const masked = () => {
    secretCode.setAttribute("aria-hidden", "true");
    spoken.textContent = model.get("available") && !model.get("confirmed")
      ? "hidden; choose Show to read it" : "hidden; not available any more";
  };
  const hide = () => {
    secretCode.textContent = MASK;
    shown = false;
    showButton.textContent = "Show";
    showButton.setAttribute("aria-label", "Show secret access key");
    masked();
  };
  const say = (text) => { status.textContent = text; };
  const copied = () => say("Copied to the clipboard.");
  const notCopied = () => say("Could not copy here: click Show, then select and copy it by hand.");

  const sync = () => {
    // A control that is disabled under the keyboard focus drops it to the page: move the
    // focus to the notice (which now says what happened) instead.
    const before = document.activeElement;
    const hadFocus = card.contains(before);
    idCode.textContent = model.get("key_id");
    notice.textContent = model.get("notice");
    const bits = [];
    if (model.get("user_name")) bits.push("User: " + model.get("user_name"));
    if (model.get("created")) bits.push("Created: " + model.get("created"));
    meta.textContent = bits.join(" · ");
    const open = model.get("available") && !model.get("confirmed");
    if (!open) hide();
    else if (!shown) masked();
    showButton.disabled = !open;
    copySecret.disabled = !open;
    confirm.disabled = model.get("confirmed");
    confirm.style.display = model.get("available") ? "" : "none";
    card.classList.toggle("labkit-reveal-done", model.get("confirmed"));
    if (hadFocus && (before.disabled || !card.contains(document.activeElement))) notice.focus();
  };
  hide();
  sync();
  const traits = ["change:key_id", "change:notice", "change:user_name", "change:created",
                  "change:available", "change:confirmed"];
  traits.forEach((t) => model.on(t, sync));
  // Keys pressed on the card's buttons are the card's, not JupyterLab's shortcuts.
  card.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") e.stopPropagation();
  });

  // The secret is never in the model's state: the kernel answers "reveal" with a custom
  // message, and it lives in this DOM only while shown.
  showButton.addEventListener("click", () => {
    if (shown) hide();
    else model.send({ event: "reveal", purpose: "show" });
  });
  copyId.addEventListener("click", () => {
    try {
      navigator.clipboard.writeText(model.get("key_id")).then(copied, notCopied);
    } catch (e) { notCopied(); }
  });
  copySecret.addEventListener("click", () => {
    try {
      if (shown) {
        navigator.clipboard.writeText(secretCode.textContent).then(copied, notCopied);
        return;
      }
      const value = new Promise((resolve, reject) => {
        pendingCopy = { resolve, reject };
        setTimeout(() => reject(new Error("no answer")), 5000);
      });
      value.catch(() => {});
      model.send({ event: "reveal", purpose: "copy" });
      const viaText = () => value.then((v) => navigator.clipboard.writeText(v));
      let done;
      if (window.ClipboardItem && navigator.clipboard.write) {
        // Safari wants the clipboard write started inside the click, with a promise for the text.
        const blob = value.then((v) => new Blob([v], { type: "text/plain" }));
        blob.catch(() => {});
        done = navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })])
          .catch(viaText);
      } else {
        done = viaText();
      }
      done.then(copied, notCopied);
    } catch (e) { notCopied(); }
  });
  confirm.addEventListener("click", () => model.send({ event: "confirm" }));

  const onMessage = (msg) => {
    if (!msg) return;
    if (msg.event === "secret") {
      if (msg.purpose === "copy" && pendingCopy) {
        pendingCopy.resolve(msg.value);
        pendingCopy = null;
      } else {
        secretCode.textContent = msg.value;
        secretCode.removeAttribute("aria-hidden");
        spoken.textContent = "";
        shown = true;
        showButton.textContent = "Hide";
        showButton.setAttribute("aria-label", "Hide secret access key");
      }
    } else if (msg.event === "forget") {
      hide();
      if (pendingCopy) { pendingCopy.reject(new Error("forgotten")); pendingCopy = null; }
    }
  };
  model.on("msg:custom", onMessage);
  return () => {
    traits.forEach((t) => model.off(t, sync));
    model.off("msg:custom", onMessage);
    hide();
  };
}
export default { render };
