"""Crash-safe writes: every file and folder the project writes goes through here (temp name, then rename).

Users: used by every step that writes.

A temporary name is `.tmp-<pid>-<name>` beside its target (`.tmp-<pid>-old-<name>` for a folder being
replaced), so that a killed run never leaves a half-written file under a real name, two runs never
share a temporary name, and `clean_leftovers` can tell its own leftovers from a user's files: it
removes only names of this scheme whose process is gone. Hidden names are ignored by every folder
listing of the project (`folderstep.visible`).

Importable without TensorFlow or OpenCV.
"""
import errno
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_PREFIX = ".tmp-"
_LEFTOVER = re.compile(r"^\.tmp-(\d+)-")  # .tmp-<pid>-<name> and .tmp-<pid>-old-<name>


def tmp_sibling(target: Path, tag: str = "") -> Path:
    """The temporary name of `target` for this process: `.tmp-<pid>-[<tag>-]<name>` in the same folder.

    The suffix stays last, so cv2.imwrite, np.save and Keras still recognise the format.
    """
    target = Path(target)
    middle = f"{tag}-" if tag else ""
    return target.parent / f"{TMP_PREFIX}{os.getpid()}-{middle}{target.name}"


def disk_full_hint(error: OSError, path: Path) -> OSError:
    """The same error, reworded when the disk is full (ENOSPC/EDQUOT) so that the user knows what to free."""
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return OSError(error.errno, f"Disk full while writing {path}: free space on {_mount_of(path)} and re-run "
                                    "(finished outputs are kept, the rest is redone)")
    return error


def _mount_of(path: Path) -> Path:
    path = Path(path).resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


@contextmanager
def atomic_write(path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `path` (same suffix); `os.replace`s it onto `path` when the block succeeds.

    Write the file at the yielded path with any writer (bytes, text, np.save, model.save, cv2.VideoWriter).
    On an exception the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"Nothing was written to {tmp} for {path}")
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise disk_full_hint(error, path) from error
        raise


def _fsync_file(path: Path) -> None:
    # Without it, a power cut after the rename can leave the new name pointing at an empty file.
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: Path, data) -> None:
    """Writes `data` as indented, key-sorted JSON (a state file, a settings record)."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yields an empty temporary sibling folder; renames it to `target` when the block succeeds.

    On an exception the temporary folder is removed and `target` is left as it was. An existing
    `target` (re-run with overwrite) is replaced only after the new folder is complete. There is
    never a half-filled folder at `target`.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(target)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError):
            raise disk_full_hint(error, target) from error
        raise
    if target.exists():
        old = tmp_sibling(target, "old")
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


def process_alive(pid: int) -> bool:
    """True when `pid` is a running process; a zombie (dead, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # gone since os.kill; or no /proc at all (macOS), where os.kill's answer stands
        return not Path("/proc/self").exists()


def other_process_alive(pid: int) -> bool:
    """True when `pid` is a running process other than this one."""
    if pid == os.getpid():
        return False  # our own leftovers from before (a reused pid) are ours to remove
    return process_alive(pid)


def is_leftover(path: Path) -> bool:
    """True for a temporary name of this module's scheme whose writing process is gone."""
    match = _LEFTOVER.match(Path(path).name)
    return bool(match) and not other_process_alive(int(match.group(1)))


def claim(lock: Path, what: str) -> Path:
    """Creates `lock` holding this process's pid, so that two processes never write `what` at once.

    A lock whose process is gone (killed, crashed) or is this one is taken over. Created complete or not at
    all (written under a temporary name, then hard-linked: the link fails when the lock exists). The take-over
    is atomic among any number of claimers: a lock is only ever *removed* under an exclusive `flock` of its
    folder (`_takeover_guard`), after reading it again there and finding the same dead holder; creating one
    needs no guard (the link is exclusive). So two claimers that both saw the same stale lock never both win:
    the second, once it holds the guard, finds the first one's live pid.

    Raises:
        ValueError: another running process holds the lock (its pid and the lock's path named).
    """
    lock = Path(lock)
    tmp = tmp_sibling(lock)
    tmp.write_text(str(os.getpid()))
    try:
        for _ in range(5):
            if _create_lock(tmp, lock):
                return lock
            with _takeover_guard(lock):
                holder = _lock_holder(lock)
                if holder is _GONE:
                    continue  # released meanwhile: try to create it again
                if holder is not None and other_process_alive(holder):
                    raise ValueError(f"{what} is in use by process {holder} ({lock}); wait until it has ended, "
                                     "or stop it")
                lock.unlink(missing_ok=True)  # stale: its holder is dead (read again under the guard)
                if _create_lock(tmp, lock):
                    return lock
        raise ValueError(f"Could not lock {lock} for {what}; remove it if no other process uses {what}")
    finally:
        tmp.unlink(missing_ok=True)


_GONE = object()  # _lock_holder: no lock file


def _create_lock(tmp: Path, lock: Path) -> bool:
    """Creates `lock` from `tmp` (this pid) unless it exists; True when created."""
    try:
        os.link(tmp, lock)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then the pid
        try:
            with open(lock, "x") as file:
                file.write(str(os.getpid()))
        except FileExistsError:
            return False
    return True


def _lock_holder(lock: Path):
    """The pid in `lock`; _GONE when there is no lock; None when it holds no pid (not ours: taken over).

    An empty lock may be one being written by the no-hard-link path of _create_lock: read once more after a
    moment before calling it foreign.
    """
    for attempt in range(2):
        try:
            text = lock.read_text().strip()
        except FileNotFoundError:
            return _GONE
        if text.isdigit():
            return int(text)
        if attempt == 0:
            time.sleep(0.1)
    return None


@contextmanager
def _takeover_guard(lock: Path) -> Iterator[None]:
    """An exclusive flock held while a stale `lock` is checked and removed: of the lock's folder (no extra
    file), or, where a folder cannot be flocked, of a hidden `.<lock name>.guard` beside it."""
    fd = None
    try:
        fd = os.open(lock.parent, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        if fd is not None:
            os.close(fd)
        fd = os.open(lock.with_name(f".{lock.name}.guard"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)  # releases the flock


def clean_leftovers(out_root: Path) -> int:
    """Removes what killed runs left under `out_root` (only `.tmp-<pid>-*` names of dead processes); returns how many.

    A user's own file that merely starts with ".tmp-", and the temporary files of a run still going, are kept.
    """
    out_root = Path(out_root)
    if not out_root.is_dir():
        return 0
    leftovers = sorted(out_root.rglob(f"{TMP_PREFIX}*"), key=lambda p: len(p.parts))
    removed = 0
    for path in leftovers:
        if not os.path.lexists(path) or not is_leftover(path):  # inside a leftover removed just before, or not ours
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed += 1
    return removed
