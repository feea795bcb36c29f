// SecretInput: a password box whose value reaches the kernel in custom messages only.
function render({ model, el }) {
  el.classList.add("labkit-anywidget");
  const label = document.createElement("label");
  label.className = "labkit-secret-input";
  const text = document.createElement("span");
  text.className = "labkit-secret-label";
  const input = document.createElement("input");
  input.type = "password";
  input.setAttribute("autocomplete", "off");
  input.setAttribute("autocapitalize", "off");
  input.setAttribute("autocorrect", "off");
  input.spellcheck = false;
  label.append(text, input);
  el.append(label);

  const sync = () => {
    text.textContent = model.get("description");
    input.placeholder = model.get("placeholder");
    input.disabled = model.get("disabled");
  };
  sync();
  const traits = ["change:description", "change:placeholder", "change:disabled"];
  traits.forEach((t) => model.on(t, sync));

  // The typed value goes to the kernel in a custom message only: never into a synced trait,
  // which the notebook would save.
  input.addEventListener("input", () => model.send({ event: "input", value: input.value }));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      e.stopPropagation(); // Enter submits the form; it must not also run JupyterLab's cell
      model.send({ event: "submit" });
    }
  });
  const onMessage = (msg) => {
    if (msg && msg.event === "clear") input.value = "";
  };
  model.on("msg:custom", onMessage);
  return () => {
    traits.forEach((t) => model.off(t, sync));
    model.off("msg:custom", onMessage);
    input.value = "";
  };
}
export default { render };
