"""The sandbox's private files: a 0700 home, atomic 0600 writes, tolerant reads, the lock."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labkit.sandbox.state import (
    HomeError,
    _not_writable,
    locked,
    prepare_home,
    read_json,
    write_private,
    write_private_text,
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_home_is_a_private_folder(tmp_path: Path) -> None:
    home = tmp_path / "a" / "labkit"
    assert prepare_home(home) == home
    assert home.is_dir() and _mode(home) == 0o700


def test_loose_home_of_ours_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    home = tmp_path / "labkit"
    home.mkdir()
    for loose in (0o755, 0o710):  # group bits alone are loose too
        home.chmod(loose)
        with pytest.raises(HomeError) as err:
            prepare_home(home)
        assert str(err.value) == (
            f"The lab will not use {home}: its permissions ({loose:04o}) let other users read or "
            "change its files (your sandbox's keys). Check that every file in it is yours, then "
            f"run: chmod 700 {home}  (or point LABKIT_HOME at a new folder)."
        )
        assert _mode(home) == loose


def test_a_file_in_the_way_says_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "labkit"
    home.write_text("not a folder")
    with pytest.raises(HomeError) as err:
        prepare_home(home)
    assert str(err.value) == (
        f"The lab cannot write its files to {home} (File exists). "
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit"
    )


def _as_other_user(call: Callable[[], object]) -> str:
    """Run `call` as another user (nobody) when the tests run as root, else as ourselves."""
    if os.geteuid() != 0:
        try:
            call()
        except HomeError as exc:
            return str(exc)
        return "ok"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become nobody, who may not write to root's folders
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            call()
            said = "ok"
        except HomeError as exc:
            said = str(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails
            said = f"unexpected {exc!r}"
        os.write(write, said.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        said = fh.read()
    os.waitpid(pid, 0)
    return said


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder every user can reach (pytest's own tmp_path is private to us)."""
    folder = Path(tempfile.mkdtemp(prefix="labkit-state-"))
    folder.chmod(0o755)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o700)
    shutil.rmtree(folder)


def test_home_we_cannot_write_says_what_to_do(shared_tmp: Path) -> None:
    # Our own folder next to it is fine (run here, not in a child, so that mutation testing
    # sees this test reach prepare_home).
    assert prepare_home(shared_tmp / "ours") == shared_tmp / "ours"
    home = shared_tmp / "labkit"
    home.mkdir()
    home.chmod(0o500 if os.geteuid() != 0 else 0o755)  # as root: the other user cannot write
    said = _as_other_user(lambda: prepare_home(home))
    assert said == (
        f"The lab cannot write its files to {home}. "
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a folder owned by another user")
def test_someone_elses_open_home_is_refused_and_left_alone(shared_tmp: Path) -> None:
    home = shared_tmp / "labkit"
    home.mkdir()
    home.chmod(0o777)  # another user's folder: never used, never tightened
    said = _as_other_user(lambda: prepare_home(home))
    assert said.startswith(f"The lab will not use {home}: ")  # refused, saying why
    assert _mode(home) == 0o777


def test_private_text_is_0600_and_complete(tmp_path: Path) -> None:
    old = os.umask(0)  # even a learner with no umask gets a private file
    try:
        path = tmp_path / "console.json"
        write_private_text(path, "first\n")
        assert path.read_text() == "first\n" and _mode(path) == 0o600
    finally:
        os.umask(old)


def test_rewriting_a_readable_file_makes_it_private(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text("old and long " * 10)
    path.chmod(0o644)
    write_private_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.json"]  # no temporary left


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    path.write_text("kept")
    with pytest.raises(UnicodeEncodeError):
        write_private_text(path, "half \udc80 written")
    assert path.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.json"]


def test_failed_replace_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x")  # a folder that is not empty cannot be replaced
    with pytest.raises(OSError):
        write_private_text(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_folder_that_refuses_fsync_still_gets_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some file systems refuse fsync on a folder: the file is written all the same."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "sandbox.json"
    write_private_text(path, "text")
    assert path.read_text() == "text" and _mode(path) == 0o600


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    data = {"port": 4566, "pid": 12, "token": "t", "nested": {"a": [1, 2]}}
    write_private(path, data)
    assert json.loads(path.read_text()) == data and _mode(path) == 0o600
    assert read_json(path) == data


@pytest.mark.parametrize("content", [None, "", "{not json", "[1, 2]", '"text"', "\xff\xfe"])
def test_missing_damaged_or_odd_state_reads_as_none(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "sandbox.json"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    assert read_json(path) is None


def test_lock_is_private_and_exclusive(tmp_path: Path) -> None:
    def try_lock() -> bool:
        fd = os.open(tmp_path / "sandbox.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True

    with locked(tmp_path):
        assert _mode(tmp_path / "sandbox.lock") == 0o600
        assert not try_lock()  # a second kernel waits
    assert try_lock()  # and gets it once the first is done
    with locked(tmp_path):  # the lock can be taken again
        assert not try_lock()


def test_not_writable_message_adds_the_reason_only_when_known(tmp_path: Path) -> None:
    advice = (
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit"
    )
    plain = f"The lab cannot write its files to {tmp_path}. {advice}"
    assert _not_writable(tmp_path, None) == plain
    assert _not_writable(tmp_path, OSError()) == (
        f"The lab cannot write its files to {tmp_path}. {advice}"
    )
    assert _not_writable(tmp_path, PermissionError(13, "Permission denied")) == (
        f"The lab cannot write its files to {tmp_path} (Permission denied). {advice}"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="root can use folders whatever their mode")
def test_root_refuses_others_homes_and_loose_ones_and_changes_neither(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o777)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(HomeError) as err:
        prepare_home(theirs)
    assert "belongs to nobody, not to you" in str(err.value)
    assert _mode(theirs) == 0o777  # not ours to change
    for before, refused in ((0o670, True), (0o500, False), (0o300, False)):
        home = tmp_path / f"own-{before:o}"
        home.mkdir()
        home.chmod(before)
        if refused:
            with pytest.raises(HomeError):
                prepare_home(home)
        else:
            prepare_home(home)  # only the owner's bits: private, root may write anyway
        assert _mode(home) == before


def test_the_temporary_file_is_hidden_beside_the_target(
    tmp_path: Path, replaced: list[tuple[str, str]]
) -> None:
    seen = replaced
    path = tmp_path / "sandbox.json"
    write_private_text(path, "x")
    [(src, dst)] = seen
    # Beside it: a rename within one folder is atomic; hidden: nobody opens it by mistake.
    assert Path(src).parent == tmp_path and Path(src).name.startswith(".sandbox.json.")
    assert Path(src).name.endswith(".tmp")  # marked as a temporary, for anyone who finds one
    assert dst == str(path)



# --- a full disk, and the bounded reader ---------------------------------------------------------

def test_a_full_disk_at_any_step_is_one_plain_message_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from labkit import files
    from labkit.files import HomeError as FilesHomeError
    from labkit.files import disk_full, write_private_text

    path = tmp_path / "progress.json"
    path.write_text("kept")

    def no_space(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    for target in ("mkstemp", "replace"):  # creating the temporary, or the final swap
        with monkeypatch.context() as m:
            m.setattr(tempfile if target == "mkstemp" else os, target, no_space)
            with pytest.raises(FilesHomeError) as err:
                write_private_text(path, "new")
        assert str(err.value) == disk_full(path)
        assert "progress.json" in str(err.value) and "is full" in str(err.value)
        assert path.read_text() == "kept"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json"]

    def denied(*_: object, **__: object) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    with monkeypatch.context() as m:  # any other error is not called a full disk
        m.setattr(tempfile, "mkstemp", denied)
        with pytest.raises(OSError) as other:
            write_private_text(path, "new")
    assert not isinstance(other.value, FilesHomeError) and other.value.errno == errno.EACCES
    assert files.DISK_FULL_ERRNOS >= {errno.ENOSPC}


def test_read_json_reads_up_to_its_limit_in_bytes_and_no_further(tmp_path: Path) -> None:
    from labkit.files import read_json

    path = tmp_path / "state.json"
    exact = json.dumps({"k": "x" * 100})
    path.write_text(exact)
    limit = len(exact.encode())
    assert read_json(path, limit=limit) == {"k": "x" * 100}  # exactly at the limit: read
    wide = json.dumps({"k": "é" * 50}, ensure_ascii=False)  # 2 bytes a letter
    path.write_text(wide, encoding="utf-8")
    size = len(wide.encode())
    assert size > len(wide)
    assert read_json(path, limit=size) == {"k": "é" * 50}
    assert read_json(path, limit=size - 1) is None  # counted in bytes, not letters


def test_a_home_that_is_gone_or_owned_by_an_unknown_user_is_refused_in_words(
        tmp_path: Path) -> None:
    from labkit.sandbox.state import check_private

    gone = tmp_path / "gone"
    with pytest.raises(HomeError) as err:
        check_private(gone)
    assert str(err.value) == (
        f"The lab cannot write its files to {gone} (No such file or directory). "
        "Point LABKIT_HOME at a folder you own, for example: export LABKIT_HOME=$HOME/.labkit")
    if os.geteuid() != 0:
        return  # giving a folder away needs root
    ghost = tmp_path / "ghost"
    ghost.mkdir(mode=0o700)
    os.chown(ghost, 54321, 54321)  # a user ID with no account
    with pytest.raises(HomeError) as err:
        check_private(ghost)
    assert str(err.value) == (
        f"The lab will not use {ghost}: it belongs to user ID 54321, not to you, so its files "
        "could have been put there by someone else. Point LABKIT_HOME at a new folder of "
        "your own, for example: export LABKIT_HOME=$HOME/.labkit")
