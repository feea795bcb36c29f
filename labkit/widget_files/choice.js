// Choice: one quiz question as a radio group labelled by its question (fieldset and legend).
// The options share a name, so the group is one Tab stop and the arrow keys move between
// options; arrow keys stop here, so JupyterLab does not move to another cell.
let groups = 0;

function render({ model, el }) {
  el.classList.add("labkit-anywidget");
  const fieldset = document.createElement("fieldset");
  fieldset.className = "labkit-choice";
  fieldset.setAttribute("data-lm-suppress-shortcuts", "true");
  const legend = document.createElement("legend");
  fieldset.append(legend);
  el.append(fieldset);
  groups += 1;
  const name = `labkit-choice-${groups}-${Math.random().toString(36).slice(2, 8)}`;
  let inputs = [];

  const sync = () => {
    legend.textContent = model.get("description");
    const index = model.get("index");
    inputs.forEach((input, i) => {
      input.checked = i === index;
      input.disabled = model.get("disabled");
    });
  };
  const build = () => {
    inputs.forEach((input) => input.parentElement.remove());
    inputs = (model.get("options") || []).map((text, i) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = name;
      input.value = String(i);
      input.addEventListener("change", () => {
        if (input.checked) {
          model.set("index", i);
          model.save_changes();
        }
      });
      label.append(input, document.createTextNode(text));
      fieldset.append(label);
      return input;
    });
    sync();
  };
  build();
  fieldset.addEventListener("keydown", (e) => {
    if (e.key.startsWith("Arrow")) e.stopPropagation();
  });
  model.on("change:options", build);
  ["change:index", "change:description", "change:disabled"].forEach((t) => model.on(t, sync));
  return () => {
    model.off("change:options", build);
    ["change:index", "change:description", "change:disabled"].forEach((t) => model.off(t, sync));
  };
}
export default { render };
