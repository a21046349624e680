"""Processes known by identity, never by a bare pid.

A pid is reused once its process has ended (at once on a busy machine, certainly after a reboot), so
a record that kept only a pid could read "running" for ever, and a kill aimed at it could end someone
else's work. A :class:`ProcessId` is the pid with what makes it unique: the process's start time
(clock ticks since boot, ``/proc/<pid>/stat``), the boot it belongs to and the host. A process is
alive only when all of them match, and only such a process is signalled, through a pidfd, so that
the process checked is the process signalled.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
from dataclasses import asdict, dataclass
from pathlib import Path


@functools.cache
def boot_id() -> str:
    """This boot's id (Linux), else empty: a process of another boot is never this one."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[int | None, str | None]:
    """``(start time in clock ticks since boot, state letter)`` of ``pid``, or ``(None, None)`` when there is none."""
    try:
        text = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None, None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces and parentheses
    try:
        return int(fields[19]), fields[0]  # field 22 (starttime) and field 3 (state) of proc(5)
    except (IndexError, ValueError):
        return None, None


def rss_mb(pid: int) -> float | None:
    """The resident memory of ``pid`` in MB (``VmRSS``), or None when there is no such process."""
    try:
        for line in Path(f"/proc/{int(pid)}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class ProcessId:
    """A process as a record keeps it: pid, start time, boot and host."""

    pid: int
    start: int
    boot: str
    host: str

    @classmethod
    def of(cls, pid: int) -> "ProcessId | None":
        """The identity of the running process ``pid`` on this machine, or None when there is none."""
        start, _ = _stat(pid)
        return None if start is None else cls(int(pid), start, boot_id(), socket.gethostname())

    @classmethod
    def current(cls) -> "ProcessId":
        ident = cls.of(os.getpid())
        assert ident is not None, "/proc is not mounted"
        return ident

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> "ProcessId | None":
        """The identity a record holds, or None when it holds none (or a malformed one)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(int(data["pid"]), int(data["start"]), str(data["boot"]), str(data["host"]))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def here(self) -> bool:
        """Whether this process was started on this machine in this boot: only then can it be checked or signalled."""
        return self.host == socket.gethostname() and self.boot == boot_id()

    def alive(self) -> bool | None:
        """True while this very process runs (not a zombie); False once it has ended; None when it cannot be
        told from here (another host: a Dask worker's)."""
        if not self.here:
            return None
        start, state = _stat(self.pid)
        return start == self.start and state != "Z"

    def kill(self, sig: int = signal.SIGKILL) -> bool:
        """Send ``sig`` to this process if it is still this one; whether it was sent. A pid now used by
        another process is never signalled."""
        if not self.here:
            return False
        try:
            fd = os.pidfd_open(self.pid)  # pins the process: the one checked below is the one signalled
        except OSError:
            return False
        try:
            if _stat(self.pid)[0] != self.start:
                return False
            signal.pidfd_send_signal(fd, sig)
            return True
        except ProcessLookupError:
            return False
        finally:
            os.close(fd)


def command_line(pid: int) -> str:
    """The command line of ``pid`` (arguments joined by spaces), or empty when there is no such process."""
    try:
        return Path(f"/proc/{int(pid)}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return ""


def recorded_alive(identity, legacy_pid=None, *, names: str) -> bool:
    """Whether the process a record names still runs.

    ``identity`` is what :meth:`ProcessId.to_dict` wrote (a process on another host counts as alive: it
    cannot be told from here). A record written before identities were kept has only ``legacy_pid``:
    it counts only while that pid's command line names ``names`` (the record's folder), so a reused pid
    never makes a record read as running.
    """
    ident = ProcessId.from_dict(identity)
    if ident is not None:
        return ident.alive() is not False
    if legacy_pid:
        start, state = _stat(legacy_pid)
        return start is not None and state != "Z" and names in command_line(legacy_pid)
    return False


def kill_recorded(identity, legacy_pid=None, *, names: str, sig: int = signal.SIGKILL) -> bool:
    """Signal the process a record names, only when it is still that process (:func:`recorded_alive`'s rules)."""
    ident = ProcessId.from_dict(identity)
    if ident is None and legacy_pid and recorded_alive(None, legacy_pid, names=names):
        ident = ProcessId.of(legacy_pid)  # the cmdline check just passed: this is the record's process
    return ident.kill(sig) if ident is not None else False


__all__ = ["ProcessId", "boot_id", "command_line", "kill_recorded", "recorded_alive"]
