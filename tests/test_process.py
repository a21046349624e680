"""Tests for genre.process: a process is known by its identity (pid, start time, boot, host), never a bare pid."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys

import pytest

from genre.process import ProcessId, kill_recorded, recorded_alive


def _ended() -> ProcessId:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    ident = ProcessId.of(proc.pid)
    proc.wait()
    return ident


def test_this_process_is_alive_and_round_trips_through_a_record():
    me = ProcessId.current()
    assert me.pid == os.getpid() and me.alive() is True
    assert ProcessId.from_dict(me.to_dict()) == me


def test_an_ended_process_is_not_alive_and_is_not_signalled():
    gone = _ended()
    assert gone.alive() is False and gone.kill() is False


def test_a_pid_now_used_by_another_process_is_neither_alive_nor_signalled(bystander):
    """A record's pid reused by an unrelated process: its start time differs, so it is not the record's process."""
    reused = dataclasses.replace(ProcessId.of(bystander.pid), start=1)
    assert reused.alive() is False
    assert reused.kill(signal.SIGKILL) is False
    assert bystander.poll() is None  # still running


def test_a_process_of_another_boot_or_host_is_never_signalled(bystander):
    ident = ProcessId.of(bystander.pid)
    for other in (dataclasses.replace(ident, boot="another-boot"), dataclasses.replace(ident, host="elsewhere")):
        assert other.alive() is None and other.kill() is False
    assert bystander.poll() is None


def test_the_process_itself_is_signalled(bystander):
    assert ProcessId.of(bystander.pid).kill(signal.SIGKILL) is True
    assert bystander.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.parametrize("data", [None, {}, {"pid": "x", "start": 1, "boot": "", "host": ""}, [1, 2], "12"])
def test_a_malformed_identity_is_none(data):
    assert ProcessId.from_dict(data) is None


def test_a_record_from_before_identities_counts_only_a_process_that_names_it(bystander):
    """A bare pid (an old record) is believed only while that pid's command line names the record."""
    assert recorded_alive(None, bystander.pid, names="20260101-000000-abcdef") is False
    assert kill_recorded(None, bystander.pid, names="20260101-000000-abcdef") is False
    assert bystander.poll() is None
    assert recorded_alive(None, bystander.pid, names="time.sleep(120)") is True
    assert recorded_alive(ProcessId.of(bystander.pid).to_dict(), names="anything") is True
    assert recorded_alive(None, None, names="x") is False
