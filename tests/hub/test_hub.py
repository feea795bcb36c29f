"""A real JupyterHub started with the repository's docs/jupyterhub_config.py: throwaway OS users
(two learners, an instructor), each learner with a server, a sandbox and lessons run; the class
view in Chromium.

JupyterHub from PyPI, configurable-http-proxy from npm, LocalProcessSpawner (one server per OS
user, started as that user), PAM logins through the hub's login page, the hub's REST API with a
service token and per-user tokens. Each user's lessons run in a kernel that the user's own server
started (the sessions API, as JupyterLab opens a notebook), driven cell by cell over the kernel's
channels.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from labkit.sandbox import state
from tests.jupyter_server_run import BIN, JUPYTER_CONFIG, REPO, pid_running, wait_for

LESSONS = ("00_start_here", "03_create_access_keys")
pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the hub test creates OS users (useradd): run it as root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as(user: str, *command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`command` as `user`, in their home, with their environment (runuser -l would reset PATH)."""
    home = pwd.getpwnam(user).pw_dir
    env = {"HOME": home, "USER": user, "PATH": f"{BIN}:/usr/bin:/bin",
           "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
    return subprocess.run(["/usr/sbin/runuser", "-u", user, "--", "env", "-i",
                           *(f"{k}={v}" for k, v in env.items()), *command],
                          cwd=home, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def reachable() -> Iterator[None]:
    """Let learners reach this Python and the repository: the x bit (search, not list) for others
    on the folders above them that lack it (e.g. a pyenv Python under /root), restored after."""
    changed: list[tuple[Path, int]] = []
    for target in (Path(sys.prefix).resolve(), REPO, Path(sys.executable).resolve().parent):
        for folder in [target, *target.parents]:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH and folder not in [c[0] for c in changed]:
                changed.append((folder, stat.S_IMODE(mode)))
                folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(mode)


@dataclass
class People:
    """The hub's throwaway OS users: two learners (in the learners' group) and an instructor."""

    learners: list[str]
    instructor: str
    group: str
    password: str


def account(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """useradd, userdel, groupadd...: again while another process holds /etc/passwd's lock."""
    # By full path: /usr/sbin is not on every user's PATH.
    path = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    command = (shutil.which(command[0], path=path) or command[0], *command[1:])
    for _ in range(60):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0 or "lock" not in done.stderr:
            break
        time.sleep(1)
    if check:
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"
    return done


@pytest.fixture(scope="module")
def people(reachable: None) -> Iterator[People]:
    """Throwaway OS users made as an instructor would (`useradd -m`: 0755 homes on Debian),
    with one password for the hub's login page; removed afterwards."""
    tag = secrets.token_hex(3)
    group = f"r25{tag}g"
    names = [f"r25{tag}a", f"r25{tag}b", f"r25{tag}i"]
    password = secrets.token_urlsafe(12)
    made = []
    account("groupadd", group)
    try:
        for name in names:
            extra = ["-G", group] if not name.endswith("i") else []
            account("useradd", "-m", "--shell", "/bin/bash", *extra, name)
            made.append(name)
            home = Path(pwd.getpwnam(name).pw_dir)
            (home / "notebooks").mkdir()
            # As nbgitpuller pulls the course: the notebooks and their checks beside them.
            (home / "notebooks" / "checks").mkdir()
            for lesson in LESSONS:
                shutil.copy(REPO / "notebooks" / f"{lesson}.ipynb", home / "notebooks")
                shutil.copy(REPO / "notebooks" / "checks" / f"{lesson}.py",
                            home / "notebooks" / "checks")
            subprocess.run(["chown", "-R", f"{name}:{name}", str(home)], check=True, timeout=60)
        for _ in range(60):  # chpasswd too waits for the lock
            if subprocess.run(["/usr/sbin/chpasswd"], input="".join(f"{n}:{password}\n" for n in names),
                              text=True, capture_output=True, timeout=60,
                              check=False).returncode == 0:
                break
            time.sleep(1)
        yield People(names[:2], names[2], group, password)
    finally:
        for name in made:
            # Whatever the test left of this throwaway user (only ever started by this test).
            left = subprocess.run(["pgrep", "-u", name], capture_output=True, text=True,
                                  check=False).stdout.split()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            wait_for(lambda n=name: subprocess.run(["pgrep", "-u", n], capture_output=True,
                                                   check=False).returncode == 1, 30)
            account("userdel", "--remove", name, check=False)
        account("groupdel", group, check=False)


@pytest.fixture(scope="module")
def learners(people: People) -> list[str]:
    return people.learners


@dataclass
class Hub:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    log: Path
    state: Path

    def api(self, method: str, path: str, data: Any = None, token: str | None = None,
            prefix: str = "/hub/api") -> tuple[int, Any]:
        body = b"" if data is None and method in ("POST", "DELETE") else (
            None if data is None else json.dumps(data).encode())
        req = urllib.request.Request(self.url + prefix + path, method=method, data=body,
                                     headers={"Authorization": f"token {token or self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        return status, json.loads(text) if text.strip() else None


HUB_CONFIG = REPO / "docs" / "jupyterhub_config.py"
# The repository's config as the instructor runs it, plus what only a test needs: its own ports,
# a service token to drive the hub's API, a bare PATH for learners' servers (kernels must find
# `aws` anyway), and labkit's Jupyter config for this checkout's editable install.
TEST_CONFIG = """
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
# The instructor is no hub admin here: the instructors group alone must open the class view.
c.Authenticator.admin_users = set()
c.JupyterHub.services.append({{"name": "labkit-test", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "labkit-test",
    "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
    "services": ["labkit-test"],
}})
c.Spawner.environment.update({{
    "PATH": "/usr/bin:/bin",
    "PYTHONPATH": {repo!r},
    "JUPYTER_CONFIG_PATH": {jupyter_config!r},
}})
"""


@pytest.fixture(scope="module")
def hub(people: People, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    chp = shutil.which("configurable-http-proxy")
    if chp is None:
        pytest.skip("configurable-http-proxy (JupyterHub's proxy) is missing: install it with "
                    "`npm install -g configurable-http-proxy` (.ci/run does)")
    folder = tmp_path_factory.mktemp("hub")
    token = secrets.token_hex(32)
    port = free_port()
    (folder / "test_config.py").write_text(TEST_CONFIG.format(
        config=str(HUB_CONFIG), hub_port=free_port(), proxy_api_port=free_port(), chp=chp,
        folder=folder, token=token, repo=str(REPO), jupyter_config=str(JUPYTER_CONFIG)))
    log = folder / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "AWS_"))}
    env.update(LAB_LEARNERS_GROUP=people.group, LAB_INSTRUCTORS=people.instructor,
               LAB_HUB_PORT=str(port), LAB_HUB_STATE=str(folder / "state"),
               LAB_CLASS_VIEW_PORT=str(free_port()))
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f",
                                 str(folder / "test_config.py")], cwd=folder, env=env,
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)
    hub = Hub(proc, f"http://127.0.0.1:{port}", token, log, folder / "state")
    try:
        up = wait_for(lambda: proc.poll() is None and _answers(hub), 120, step=0.5)
        assert up, log.read_text(errors="replace")[-4000:]
        # Learners are allowed by their OS group; the hub knows them once they log in, or now.
        status, body = hub.api("POST", "/users", {"usernames": people.learners})
        assert status == 201, body
        yield hub
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _answers(hub: Hub) -> bool:
    try:
        return hub.api("GET", "/users")[0] == 200
    except OSError:
        return False


def start_server(hub: Hub, user: str) -> None:
    if (hub.api("GET", f"/users/{user}")[1] or {}).get("servers", {}).get("", {}).get("ready"):
        return
    status, body = hub.api("POST", f"/users/{user}/server")
    assert status in (201, 202), body
    ready = wait_for(lambda: (hub.api("GET", f"/users/{user}")[1] or {}).get("servers", {})
                     .get("", {}).get("ready"), 180, step=0.5)
    assert ready, hub.log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def kernel_of(hub: Hub, user: str, user_token: str, lesson: str) -> Iterator[Any]:
    """A kernel for the lesson, started as JupyterLab does (a session in the user's server)."""
    from jupyter_client import BlockingKernelClient

    status, session = hub.api("POST", "/sessions", {
        "path": f"notebooks/{lesson}.ipynb", "type": "notebook", "name": f"{lesson}.ipynb",
        "kernel": {"name": "python3"}}, token=user_token, prefix=f"/user/{user}/api")
    assert status == 201, session
    kernel_id = session["kernel"]["id"]
    home = Path(pwd.getpwnam(user).pw_dir)
    connection = home / ".local/share/jupyter/runtime" / f"kernel-{kernel_id}.json"
    assert wait_for(connection.exists, 60), f"no connection file {connection}"
    client = BlockingKernelClient(connection_file=str(connection))
    client.load_connection_file()
    client.start_channels(hb=False)
    try:
        client.wait_for_ready(timeout=120)
        yield client
    finally:
        client.stop_channels()
        hub.api("DELETE", f"/sessions/{session['id']}", token=user_token,
                prefix=f"/user/{user}/api")


def execute(client: Any, source: str, where: str = "") -> str:
    """Run one cell; what it printed or displayed as text (a red error fails the test)."""
    out: list[str] = []
    errors: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        content = msg["content"]
        if msg["msg_type"] == "stream":
            out.append(content["text"])
        elif msg["msg_type"] in ("execute_result", "display_data"):
            out.append(content["data"].get("text/plain", ""))
        elif msg["msg_type"] == "error":
            errors.append("\n".join(content["traceback"])[-2000:])

    reply = client.execute_interactive(source, timeout=300, output_hook=hook)
    assert reply["content"]["status"] == "ok", f"{where}: " + "\n".join(errors)
    return "".join(out)


def run_lesson(hub: Hub, user: str, user_token: str, lesson: str) -> None:
    """Open the lesson as JupyterLab does (a session in the user's server), run its cells."""
    home = Path(pwd.getpwnam(user).pw_dir)
    nb = nbformat.read(home / "notebooks" / f"{lesson}.ipynb", as_version=4)
    with kernel_of(hub, user, user_token, lesson) as client:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if "raises-exception" in cell.metadata.get("tags", []):
                client.execute_interactive(cell.source, timeout=300)
            else:
                execute(client, cell.source, f"{user} {lesson} cell {index}")


def owner_uid(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def progress_rows(*args: str, user: str | None = None) -> dict[str, dict[str, str]]:
    command = [sys.executable, "-m", "labkit", "progress", *args, "--csv"]
    done = run_as(user, *command) if user else subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    return {row.pop("learner"): row for row in rows}


def user_token(hub: Hub, user: str) -> str:
    status, made = hub.api("POST", f"/users/{user}/tokens",
                           {"note": "labkit hub test", "expires_in": 3600})
    assert status in (200, 201), made
    return made["token"]


def log_in(page: Any, hub: Hub, user: str, password: str, then: str) -> Any:
    """The hub's login page, as a person uses it; then `then` (a path on the hub)."""
    page.goto(f"{hub.url}/hub/login?next={urllib.parse.quote(then)}")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    with page.expect_navigation():
        page.click("#login_submit")
    page.wait_for_load_state()
    return page


CLASS_VIEW = "/services/labkit-class/"
SCREENSHOTS = REPO / "docs" / "img"


def test_the_class_view_live_for_an_instructor_and_refused_to_a_learner(
        hub: Hub, people: People, browser) -> None:
    a, b = people.learners
    # The instructor opens the view as a member of the hub group "instructors", not as an admin.
    teacher = hub.api("GET", f"/users/{people.instructor}")[1]
    assert teacher["admin"] is False and "instructors" in teacher["groups"], teacher
    token = user_token(hub, a)
    start_server(hub, a)
    # useradd -m made a 0755 home; the hub's config closed it before the server started.
    home = Path(pwd.getpwnam(a).pw_dir)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    page = log_in(browser.new_context(viewport={"width": 1400, "height": 700}).new_page(),
                  hub, people.instructor, people.password, CLASS_VIEW)
    shown = page.locator("#status:has-text('learner(s)')")
    assert wait_for(lambda: shown.count() == 1, 60, step=0.5), \
        page.url + page.content()[:3000] + hub.log.read_text(errors="replace")[-3000:]
    assert page.url.startswith(hub.url + CLASS_VIEW), page.url

    # Lesson 00 in the learner's kernel, as they run it: `ready` is green, `aws` found.
    nb = nbformat.read(home / "notebooks" / "00_start_here.ipynb", as_version=4)
    with kernel_of(hub, a, token, "00_start_here") as client:
        shown = {cell.source: execute(client, cell.source, f"{a} lesson 00")
                 for cell in nb.cells if cell.cell_type == "code"}
        ready = shown['lesson.verify("ready")']
        assert ready.startswith("✅"), ready
        aws = execute(client, "!aws --version")
        assert aws.startswith("aws-cli/"), aws

        # A checkpoint of a later lesson, run too early: red, with a hint.
        early = execute(client, 'import labkit\n'
                        'labkit.start("03_create_access_keys").verify("key_created")')
        said = [line for line in early.splitlines() if line.startswith("❌")]
        assert said, early

    # The instructor's page shows each of them without a reload: every check the learner's
    # progress.json holds, done or failed with the hint the learner saw.
    recorded = json.loads((home / ".labkit" / "progress.json").read_text())["lessons"]
    assert set(recorded["00_start_here"]) == {"ready", "sandbox_mode"}
    for lesson, results in recorded.items():
        for name, result in results.items():
            state_ = "done" if result["ok"] else "failed"
            page.locator(f'td.{state_}[data-learner="{a}"]'
                         f'[data-check="{lesson}/{name}"]').wait_for(timeout=60_000)
    failed = page.locator(f'td.failed[data-learner="{a}"]'
                          '[data-check="03_create_access_keys/key_created"]')
    assert failed.get_attribute("title") == recorded["03_create_access_keys"][
        "key_created"]["hint"]
    assert said[0].removeprefix("❌ ").strip() in failed.get_attribute("title")
    # ...and listed under "Failing now", in words.
    listed = page.locator(f'#failing li[data-learner="{a}"]'
                          '[data-check="03_create_access_keys/key_created"] .hint')
    assert listed.inner_text() == failed.get_attribute("title")
    # Every learner is listed, the one who has not started too; not the instructor.
    assert page.locator("td.learner").all_inner_texts() == sorted(people.learners)
    assert page.locator(f'td.todo[data-learner="{b}"]').count() >= 1
    failed.hover()
    page.screenshot(path=str(SCREENSHOTS / "class-view.png"), full_page=True)
    columns = page.locator("th.check").all_inner_texts()
    assert {"ready", "sandbox_mode", "key_created"} <= set(columns), columns

    # The export, from the view: a column per check, the time each was first passed.
    text = page.evaluate("fetch('export.csv', {headers: {'X-XSRFToken': document."
                         "querySelector('meta[name=xsrf]').content}}).then(r => r.text())")
    rows = {r["learner"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[a]["00_start_here/ready"].endswith("Z"), text
    assert rows[a]["03_create_access_keys/key_created"] == ""  # failed: never passed

    # A learner who is not an instructor is refused by the hub's own check.
    other = log_in(browser.new_context().new_page(), hub, b, people.password, CLASS_VIEW)
    assert "403" in other.content(), other.content()[:2000]
    assert other.locator("#class").count() == 0
    other.screenshot(path=str(SCREENSHOTS / "class-view-refused.png"))

    # The same export from the command line, from the view's folder.
    exported = subprocess.run([sys.executable, "-m", "labkit", "classview", "export", "--data",
                               str(hub.state / "labkit-class")], capture_output=True, text=True,
                              timeout=120, check=False)
    assert exported.returncode == 0, exported.stderr
    assert {r["learner"]: r for r in csv.DictReader(io.StringIO(exported.stdout))} == rows


def test_two_learners_on_a_real_hub(hub: Hub, learners: list[str]) -> None:
    tokens = {user: user_token(hub, user) for user in learners}
    for user in learners:
        start_server(hub, user)
    a, b = learners
    homes = {u: Path(pwd.getpwnam(u).pw_dir) for u in learners}

    # Each server started its learner's sandbox before any lesson ran.
    boxes = {}
    for user in learners:
        path = homes[user] / ".labkit" / state.STATE
        assert wait_for(lambda p=path: (state.read_json(p) or {}).get("status") == "ready", 60), \
            hub.log.read_text(errors="replace")[-3000:]
        boxes[user] = state.read_json(path)

    # A learner's token opens their own server only.
    assert hub.api("GET", "/status", token=tokens[a], prefix=f"/user/{b}/api")[0] == 403

    for user in learners:
        for lesson in LESSONS:
            run_lesson(hub, user, tokens[user], lesson)

    # Two sandboxes, owned by two users, each watched by that user's server.
    pids = {u: boxes[u]["pid"] for u in learners}
    assert pids[a] != pids[b] and all(pid_running(p) for p in pids.values())
    for user in learners:
        uid = pwd.getpwnam(user).pw_uid
        assert owner_uid(pids[user]) == uid
        assert owner_uid(boxes[user]["owner"]["pid"]) == uid
        assert (state.read_json(homes[user] / ".labkit" / state.STATE) or {})["pid"] == pids[user]

    # Neither can read the other's files, nor reach the other's sandbox.
    probe = (
        "import json, sys, urllib.request, urllib.error\n"
        "from pathlib import Path\n"
        "try:\n"
        "    Path(sys.argv[1], '.labkit', 'sandbox.json').read_text(); print('read')\n"
        "except PermissionError:\n"
        "    print('denied')\n"
        "own = json.loads(Path.home().joinpath('.labkit', 'sandbox.json').read_text())\n"
        "req = urllib.request.Request(sys.argv[2] + '/labkit-api/reset', data=b'{}',\n"
        "    method='POST', headers={'X-Labkit-Token': own['token']})\n"
        "try:\n"
        "    urllib.request.urlopen(req, timeout=10); print('reset')\n"
        "except urllib.error.HTTPError as exc:\n"
        "    print(exc.code)\n"
        "except (urllib.error.URLError, OSError):\n"
        "    print('closed')\n")
    for me, other in ((a, b), (b, a)):
        done = run_as(me, sys.executable, "-c", probe, str(homes[other]), boxes[other]["url"])
        # The other's sandbox closes a classmate's connection before reading a byte.
        assert done.stdout.split() == ["denied", "closed"], done.stdout + done.stderr

    # Each sandbox still holds what its learner made in lesson 03 (nobody reset it).
    check = ("import labkit.session as s\n"
             "print(sorted(u['UserName'] for u in s.connect().client('iam').list_users()['Users']))")
    for user in learners:
        done = run_as(user, sys.executable, "-c", check)
        assert "temporary-iam-user" in done.stdout, done.stdout + done.stderr

    # The instructor's view over both homes matches what each learner sees of themselves.
    both = progress_rows(str(homes[a]), str(homes[b]))
    assert set(both) == {a, b}
    for user in learners:
        own = progress_rows(user=user)
        assert len(own) == 1
        row = both[user]
        assert row == next(iter(own.values()))
        for lesson in ("00", "03"):
            done, total = row[lesson].split("/")
            assert done == total and int(total) > 0, row
        assert all(row[c] == "-" for c in ("01", "02", "04", "05", "06", "07", "08", "09")), row

    # The hub stops the servers: the sandboxes go with them.
    for user in learners:
        status, body = hub.api("DELETE", f"/users/{user}/server")
        assert status in (202, 204), body
    for user in learners:
        assert wait_for(lambda p=pids[user]: not pid_running(p), 60, step=0.5), \
            f"{user}'s sandbox outlived their server"
        assert (state.read_json(homes[user] / ".labkit" / state.STATE) or {})["status"] \
            == "stopped"
    # Nothing of the learners' is left running (server, kernels, sandbox).
    for user in learners:
        assert wait_for(lambda u=user: subprocess.run(["pgrep", "-u", u], capture_output=True,
                                                      check=False).returncode == 1, 30), \
            subprocess.run(["ps", "-u", user, "-o", "pid,args"], capture_output=True,
                           text=True, check=False).stdout
