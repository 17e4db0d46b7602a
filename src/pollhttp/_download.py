"""Downloads to a file: the ``.part`` beside the target, resuming, and special files.

A body goes to ``<target>.part`` and is renamed over the target when complete, so a
failed download never leaves a truncated file under the real name. A symbolic link is
followed (the link stays a link). A target that exists and is not a regular file (a
device, a FIFO, a socket) is written into directly, as curl does: renaming over it would
replace it (``/dev/null`` included, for root). Godot truncates ``download_file`` in place
whatever it is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ._errors import DownloadFileError

__all__ = ["Download"]


def _validator_path(part: str) -> str:
    return part + ".validator"


def _download_target(path: str) -> tuple[str, bool]:
    """Where a download to ``path`` lands, and whether that file is written in place."""
    if os.path.islink(path):
        resolved = os.path.realpath(path)
        if os.path.islink(resolved):  # realpath stops on a link it cannot resolve: a loop
            raise DownloadFileError(f"cannot open {path}: a loop of symbolic links", opening=True)
        path = resolved
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return path, False  # not there (yet): a new regular file, by way of a .part
    return path, not stat.S_ISREG(mode)


def _open_in_place(path: str) -> BinaryIO:
    """Open an existing special file for writing without waiting in ``open()``.

    A FIFO nobody reads would block ``open()``, and with it ``poll()``, forever (curl
    waits there): here that is ``RESULT_DOWNLOAD_FILE_CANT_OPEN``. Once open, writes block
    as writes to a slow disk do.
    """
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        reason: object = exc
        if exc.errno == errno.ENXIO:
            with contextlib.suppress(OSError):
                fifo = stat.S_ISFIFO(os.stat(path).st_mode)
                reason = "a FIFO no process reads" if fifo else "a socket is not a file"
        raise DownloadFileError(f"cannot open {path}: {reason}", opening=True) from exc
    try:
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except OSError as exc:
        os.close(fd)
        raise DownloadFileError(f"cannot open {path}: {exc}", opening=True) from exc


def _content_range_start(fields: Sequence[tuple[str, str]]) -> int:
    for name, value in fields:
        if name == "content-range" and value.startswith("bytes "):
            first = value[6:].partition("-")[0]
            if first.isdigit():
                return int(first)
    return -1


class Download:
    """One response body on its way to ``path``; ``resume`` keeps a failed part for Range."""

    def __init__(self, path: str, *, resume: bool) -> None:
        self.path = path
        self.resume = resume
        #: Bytes of a partial download this response continues (0: from the start).
        self.resume_from = 0
        self._handle: BinaryIO | None = None
        # (part, target) while the body goes through a .part file; None when the target
        # is written in place (a device or a FIFO) or nothing is open.
        self._paths: tuple[str, str] | None = None

    @property
    def is_open(self) -> bool:
        """True once the body has somewhere to go (after `open`)."""
        return self._handle is not None

    def resume_headers(self) -> list[str]:
        """``Range`` (and ``If-Range``) for the rest of a partial download, if there is one."""
        self.resume_from = 0
        try:
            target, in_place = _download_target(self.path)
            if in_place:
                return []  # a device or a FIFO has no part to resume
            part = target + ".part"
            size = os.path.getsize(part)
        except (OSError, DownloadFileError):
            return []
        if size == 0:
            return []
        headers = [f"Range: bytes={size}-"]
        with contextlib.suppress(OSError):
            validator = Path(_validator_path(part)).read_text(encoding="utf-8").strip()
            if validator:
                headers.append(f"If-Range: {validator}")
        self.resume_from = size
        return headers

    def open(self, code: int, fields: Sequence[tuple[str, str]]) -> None:
        """Open where this response's body goes (``fields``: lower-case names, values)."""
        target, in_place = _download_target(self.path)
        if in_place:
            self.resume_from, self._paths = 0, None
            self._handle = _open_in_place(target)
            return
        part = target + ".part"
        append = False
        if self.resume_from:
            if code == 206:
                start = _content_range_start(fields)
                if start != self.resume_from:
                    raise DownloadFileError(f"206 for bytes {start}, expected {self.resume_from}")
                append = True
            else:
                self.resume_from = 0  # the server sent the whole body: start over
        try:
            self._handle = open(part, "ab" if append else "wb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise DownloadFileError(f"cannot open {part}: {exc}", opening=True) from exc
        self._paths = (part, target)
        if self.resume and not append:
            validators = {n: v for n, v in fields if n in ("etag", "last-modified")}
            validator = validators.get("etag", "")
            if validator.startswith("W/"):
                validator = ""  # If-Range needs a strong validator (RFC 9110 §13.1.5)
            with contextlib.suppress(OSError):
                Path(_validator_path(part)).write_text(
                    validator or validators.get("last-modified", ""), encoding="utf-8"
                )

    def write(self, piece: bytes) -> None:
        """Write a piece of the (decoded) body."""
        assert self._handle is not None
        try:
            self._handle.write(piece)
        except OSError as exc:
            raise DownloadFileError(f"cannot write {self.path}: {exc}") from exc

    def close(self, success: bool) -> DownloadFileError | None:
        """Close the file: move a complete part into place, or drop (or keep) a failed one.

        Returns the error when a complete download could not be moved into place.
        """
        handle, self._handle = self._handle, None
        paths, self._paths = self._paths, None
        if handle is None:
            return None
        try:
            handle.close()
            if paths is None:
                return None  # written in place: there is nothing to move or remove
            part, target = paths
            if success:
                os.replace(part, target)
                Path(_validator_path(part)).unlink(missing_ok=True)
            elif not self.resume:
                Path(part).unlink(missing_ok=True)
                Path(_validator_path(part)).unlink(missing_ok=True)
        except OSError as exc:
            if paths is not None and not self.resume:
                with contextlib.suppress(OSError):
                    Path(paths[0]).unlink(missing_ok=True)
            if success:
                return DownloadFileError(f"cannot move the download into place: {exc}")
        return None
