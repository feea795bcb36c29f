"""JupyterHub on one machine for the AWS access keys lab (tested by tests/hub/test_hub.py).

Run as root, from the environment the learners use (it has labkit, JupyterLab and the AWS CLI):
    sudo /opt/lab/bin/jupyterhub -f jupyterhub_config.py
Learners are the machine's users (PAM login) in the OS group below; each gets their own server,
kernels and sandbox, started as them. Edit the four settings in capitals; the rest is the lab's.
"""

import os
import pwd
import stat
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - JupyterHub defines it

# --- Edit these -----------------------------------------------------------------------------
LEARNERS_GROUP = os.environ.get("LAB_LEARNERS_GROUP", "learners")  # OS group allowed to log in
INSTRUCTORS = [u for u in os.environ.get("LAB_INSTRUCTORS", "").split(",") if u]  # see the view
PORT = int(os.environ.get("LAB_HUB_PORT", "8000"))  # where learners open the hub
STATE = Path(os.environ.get("LAB_HUB_STATE", "/srv/lab-hub"))  # the hub's database and secrets
# ---------------------------------------------------------------------------------------------

BIN = Path(sys.executable).parent  # this environment's bin: jupyterhub-singleuser, python, aws
CLASS_VIEW_PORT = int(os.environ.get("LAB_CLASS_VIEW_PORT", "10101"))
STATE.mkdir(mode=0o700, parents=True, exist_ok=True)

c.JupyterHub.ip = "127.0.0.1"  # behind your HTTPS reverse proxy; "" to listen everywhere
c.JupyterHub.port = PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# Who logs in: the machine's users in LEARNERS_GROUP, and the instructors.
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {LEARNERS_GROUP}
c.Authenticator.allowed_users = set(INSTRUCTORS)
c.Authenticator.admin_users = set(INSTRUCTORS[:1])  # the first instructor administers the hub

# Each learner's server runs as them, from this environment. labkit's server extension (enabled
# by `pip install`) starts their sandbox, culls idle kernels, and puts BIN first on kernels' PATH.
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# A learner's server reports each checkpoint to the class view, signed with its own hub token.
c.Spawner.environment = {
    "LABKIT_CLASS_URL": f"http://127.0.0.1:{CLASS_VIEW_PORT}/services/labkit-class/",
}


def close_home(spawner) -> None:  # JupyterHub calls it with the spawner
    """Learners' homes readable by them only (Debian's `useradd -m` makes them 0755)."""
    home = Path(pwd.getpwnam(spawner.user.name).pw_dir)
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        home.chmod(mode & 0o700)


c.Spawner.pre_spawn_hook = close_home

# The class view: a hub service. Learners' servers report to it; hub admins and the hub group
# "instructors" open it at /services/labkit-class/ (anyone else gets 403 from the hub's OAuth).
c.JupyterHub.services = [{
    "name": "labkit-class",
    "url": f"http://127.0.0.1:{CLASS_VIEW_PORT}",
    "command": [sys.executable, "-m", "labkit", "classview", "serve",
                "--data", str(STATE / "labkit-class"), "--stuck-minutes", "10"],
    "oauth_no_confirm": True,
}]
c.JupyterHub.load_groups = {"instructors": {"users": INSTRUCTORS}}
c.JupyterHub.load_roles = [{
    "name": "labkit-class-instructors",
    "scopes": ["access:services!service=labkit-class"],
    "groups": ["instructors"],
}, {
    # The view lists every learner, those who have not started too.
    "name": "labkit-class",
    "scopes": ["list:users", "read:users:name", "read:users:groups"],
    "services": ["labkit-class"],
}]
