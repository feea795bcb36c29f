// Terminal button: opens a JupyterLab terminal (it has the sandbox's settings, from labkit's
// server extension) in a new tab, so that the learner types the tutorial's `aws configure`.
// JupyterLab hands its commands to page scripts only with LabApp.expose_app_in_browser (which
// labkit's Jupyter config sets); elsewhere the button says where to find a terminal.
function render({ model, el }) {
  el.classList.add("labkit-anywidget");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "labkit-terminal-button";
  button.textContent = model.get("label");
  const said = document.createElement("div");
  said.className = "labkit-status-text";
  said.setAttribute("role", "status");
  const yourself = "Open one yourself: File > New > Terminal (or the Terminal tile of the Launcher).";
  button.addEventListener("click", async () => {
    const app = window.jupyterapp;
    if (!app || !app.commands || !app.commands.hasCommand("terminal:create-new")) {
      said.textContent = "This page cannot open a terminal for you. " + yourself;
      return;
    }
    try {
      const terminal = await app.commands.execute("terminal:create-new");
      const name = terminal && terminal.content && terminal.content.session
        ? terminal.content.session.name : "";
      said.textContent = `A terminal opened in a new tab${name ? ` (Terminal ${name})` : ""}: ` +
        "type the commands below there, then come back to this tab.";
      model.set("opened", model.get("opened") + 1);
      model.save_changes();
    } catch (error) {
      said.textContent = `The terminal did not open (${error && error.message ? error.message : error}). ` + yourself;
    }
  });
  el.append(button, said);
}
export default { render };
