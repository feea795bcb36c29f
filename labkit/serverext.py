"""The lab's Jupyter server extension: the learner's sandbox lives with their Jupyter server.

Enabled by installing labkit (`jupyter-config/jupyter_server_config.d/labkit.json`), in
JupyterLab, Notebook 7 and JupyterHub's single-user servers alike. In sandbox mode it

- starts the learner's sandbox in the background as the server starts, so the first lesson
  attaches to a running sandbox instead of waiting for it;
- makes the server the sandbox's owner: the sandbox stops when the server stops, and exits by
  itself when the server dies without stopping it (labkit.sandbox.server watches it);
- runs kernels over IPC sockets in the learner's private runtime folder (`private_kernels`), so
  no other user of the machine can read a kernel's messages;
- runs every JupyterLab terminal as a login shell followed by the lab's settings (the sandbox's
  endpoint, region and CLI files, and the environment's `python` and `aws` first on PATH), so
  `aws sts get-caller-identity` works as the first command typed and never reads `~/.aws`.

In real-AWS mode (`LABKIT_BACKEND=aws`) it does nothing: no sandbox, terminals left alone.

In every mode it also
- turns kernel culling on (idle kernels stop after 15 minutes, open tabs or not), unless the
  server's own config sets culling: jupyter_server reads only `jpserver_extensions` from
  `jupyter_server_config.d`, so a culling setting there would never reach the kernel manager;
- puts this environment's `bin` first on the PATH kernels inherit, so `aws` and `python` are
  found on a hub whose spawner hands the server another PATH.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import Bool, Int, default
from traitlets.config import Config

from labkit.sandbox import owner as owners

TERMINAL_RC = "terminal.bashrc"
TERMINAL_ENV = "terminal.env"

RC_TEMPLATE = """\
# Written by labkit's Jupyter server extension: JupyterLab terminals start with this file.
# First what a login shell runs (the system's and your own profile, which may reset PATH)...
if [ -f /etc/profile ]; then . /etc/profile; fi
if [ -f "$HOME/.bash_profile" ]; then . "$HOME/.bash_profile"
elif [ -f "$HOME/.bash_login" ]; then . "$HOME/.bash_login"
elif [ -f "$HOME/.profile" ]; then . "$HOME/.profile"
elif [ -f "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi
# ...then the lab's: this environment's python and aws, and the sandbox instead of ~/.aws.
export PATH={bin}:"$PATH"
unset {shadowing}
if [ -r {env_file} ]; then . {env_file}
else eval "$(python -m labkit env 2>/dev/null)"; fi
"""


CULLING = ("cull_idle_timeout", "cull_interval", "cull_connected")


def _kernels_find_this_environment() -> None:
    """This environment's `bin` (python, aws) first on the PATH that kernels inherit."""
    # A hub's spawner may give the server its own PATH; kernels copy the server's environment.
    from labkit.settings import settings

    here = str(Path(sys.executable).parent)
    path = settings().path
    if path.split(os.pathsep)[:1] != [here]:
        os.environ["PATH"] = os.pathsep.join([here, *(p for p in path.split(os.pathsep)
                                                     if p and p != here)])


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Where Jupyter finds the extension (`labkit.serverext` in jpserver_extensions)."""
    return [{"module": "labkit.serverext", "app": LabkitExtension}]


def private_kernels(serverapp: Any) -> None:
    """Kernels talk to the server over IPC sockets in the learner's runtime folder (made 0700),
    never over TCP on localhost, where any user of the machine could subscribe to a kernel's
    output (a revealed secret included). Set before the kernel manager exists, in any mode."""
    runtime = Path(serverapp.runtime_dir)
    try:
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        if runtime.stat().st_uid == os.getuid():
            runtime.chmod(0o700)
    except OSError as exc:
        serverapp.log.warning("labkit: could not make %s private: %s", runtime, exc)
    PrivateKernelManager.socket_dir = str(_socket_dir(runtime))
    serverapp.config.KernelManager.transport = "ipc"
    serverapp.config.MappingKernelManager.kernel_manager_class = \
        f"{__name__}.{PrivateKernelManager.__name__}"


# A Unix socket's path holds at most 107 bytes; a kernel's are SOCKET_DIR/k<12 hex>-<n>.
_SOCKET_PATH_ROOM = 80


def _socket_dir(runtime: Path) -> Path:
    """The runtime folder, or (when its path is too long for socket names) a new private one."""
    if len(os.fsencode(str(runtime))) <= _SOCKET_PATH_ROOM:
        return runtime
    import tempfile

    return Path(tempfile.mkdtemp(prefix="labkit-kernels-"))  # 0700, made now, ours


class PrivateKernelManager(ServerKernelManager):
    """jupyter_server's kernel manager, its IPC sockets named short and apart for each kernel."""

    socket_dir = ""

    @default("ip")
    def _private_ip_default(self) -> str:
        if self.transport == "ipc" and self.socket_dir:
            return os.path.join(self.socket_dir, "k" + secrets.token_hex(6))
        return str(super()._ip_default())


class LabkitExtension(ExtensionApp):
    """Starts, owns and stops the learner's sandbox; gives terminals its settings."""

    name = "labkit"
    load_other_extensions = True
    cull_idle_timeout = Int(900, config=True,
                            help="Seconds a kernel may sit idle before it is stopped (0: never).")
    cull_interval = Int(60, config=True, help="Seconds between two looks for idle kernels.")
    cull_connected = Bool(True, config=True,
                          help="Stop idle kernels of open notebook tabs too (they stay connected).")
    _owner: owners.Owner | None = None
    _thread: threading.Thread | None = None

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        """Before any extension loads: claim the server as owner, set up terminals."""
        super()._link_jupyter_server_extension(serverapp)
        private_kernels(serverapp)
        self._ship_culling(serverapp)
        _kernels_find_this_environment()
        from labkit.settings import SERVER_PROCESS_VAR, LabError, settings

        try:
            self._cfg = settings()
        except LabError as exc:
            serverapp.log.warning("labkit: %s", exc)
            return
        if self._cfg.backend != "sandbox":
            serverapp.log.info("labkit: LABKIT_BACKEND=%s: no sandbox, terminals left alone",
                               self._cfg.backend)
            return
        self._owner = owners.this_process()
        # Kernels and terminals inherit it: a sandbox one of them restarts has this owner too.
        os.environ[SERVER_PROCESS_VAR] = owners.format_owner(self._owner)
        self._set_up_terminals(serverapp)

    def _ship_culling(self, serverapp: Any) -> None:
        """Kernel culling for the kernel manager the server is about to make, unless set."""
        # Linking runs before the server makes its kernel manager: config set now reaches it.
        given = {key for section in ("MappingKernelManager", "AsyncMappingKernelManager")
                 for key in serverapp.config.get(section, {})}
        culling = {key: getattr(self, key) for key in CULLING if key not in given}
        serverapp.update_config(Config({"MappingKernelManager": culling}))
        if given & set(CULLING):
            serverapp.log.info("labkit: the server's config sets kernel culling; kept as set")

    def _set_up_terminals(self, serverapp: Any) -> None:
        """Terminals: a login shell's profile, then the lab's settings (see RC_TEMPLATE)."""
        from labkit.child_env import SHADOWING
        from labkit.sandbox import state

        settings_ = serverapp.terminado_settings
        if settings_.get("shell_command"):
            serverapp.log.info("labkit: terminado_settings.shell_command is set; not changed")
            return
        bash = shutil.which("bash")
        if bash is None:
            serverapp.log.warning("labkit: no bash here; run `eval \"$(python -m labkit env)\"` "
                                  "in terminals")
            return
        home = self._cfg.home
        try:
            state.prepare_home(home)
            state.write_private_text(home / TERMINAL_RC, RC_TEMPLATE.format(
                bin=shlex.quote(str(Path(sys.executable).parent)),
                shadowing=" ".join(SHADOWING),
                env_file=shlex.quote(str(home / TERMINAL_ENV))))
        except (state.HomeError, OSError) as exc:
            serverapp.log.warning("labkit: terminals keep their defaults: %s", exc)
            return
        serverapp.terminado_settings = dict(settings_, shell_command=[
            bash, "--rcfile", str(home / TERMINAL_RC), "-i"])

    def initialize_settings(self) -> None:
        """As the server loads: start the sandbox in the background."""
        if self._owner is None:
            return
        self._thread = threading.Thread(target=self._start_sandbox, name="labkit-sandbox",
                                        daemon=True)
        self._thread.start()

    def _start_sandbox(self) -> None:
        from labkit.sandbox import state
        from labkit.session import sandbox_for_server
        from labkit.settings import LabError, settings

        try:
            # Read again: the server's environment now names it as the owner.
            box, exports = sandbox_for_server(settings())
            lines = [f"export {k}={shlex.quote(v)}" for k, v in exports.items()]
            state.write_private_text(self._cfg.home / TERMINAL_ENV, "\n".join(lines) + "\n")
        except (LabError, OSError) as exc:
            self.log.warning("labkit: the sandbox did not start with the server (%s); the "
                             "first lesson will start it", exc)
            return
        took = f" in {box.started_in:.2f} s" if box.started_in else " (already running)"
        self.log.info("labkit: sandbox ready at %s%s", box.url, took)

    async def stop_extension(self) -> None:
        """As the server stops: stop the sandbox it owns."""
        if self._owner is None:
            return
        from labkit import sandbox

        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 60)
        if await asyncio.to_thread(sandbox.release, self._cfg.home, self._owner):
            self.log.info("labkit: sandbox stopped with the server")
