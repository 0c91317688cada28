"""Test harness: a real flamed (child process, own unix socket) and the real dockerd.

Each test module starts one Harness in setUpModule. Its tag,
"$FLAMED_TEST_TAG_PREFIX-<pid>-<hex>" (prefix default fltest-py),
names the Docker network it creates and is the value of the label fltest.run that
every runner a test boots must carry (Harness.labels), so teardown force-removes
whatever a test left behind, even after a failed assertion, then removes the network
and stops flamed with SIGTERM. Pools are per test (Harness.pool_name()) because other
flamed processes may share this dockerd and List/Watch are filtered by pool.

Environment: FLAMED_BIN (default <repo>/build/flamed), FLAMED_TEST_IMAGE (default
flamed-test/app:latest, built by scripts/test-images), FLAMED_TEST_KEEP_LOG=1 prints
flamed's log at teardown.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import flamed  # noqa: E402

REPO = HERE.parent.parent.parent
FLAMED_BIN = os.environ.get("FLAMED_BIN") or str(REPO / "build" / "flamed")
IMAGE = os.environ.get("FLAMED_TEST_IMAGE", "flamed-test/app:latest")
RUN_LABEL = "fltest.run"
# SIGTERM waits until flamed is serving (signals are taken by sigwait after start-up).
START_ALLOWANCE_S = 45
STOP_ALLOWANCE_S = 30


def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


class Harness:
    """One flamed on a unix socket, one Docker network, one cleanup label."""

    def __init__(self) -> None:
        prefix = os.environ.get("FLAMED_TEST_TAG_PREFIX", "fltest-py")
        self.tag = f"{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
        self.network = self.tag
        self.labels = {RUN_LABEL: self.tag}
        self._dir = tempfile.mkdtemp(prefix="flbind-")
        self.sock = os.path.join(self._dir, "flamed.sock")
        self.addr = f"unix:{self.sock}"
        self.log_path = os.path.join(self._dir, "flamed.log")
        self.proc: subprocess.Popen | None = None
        self.client: flamed.Client | None = None
        self._pools = 0

    def pool_name(self) -> str:
        """A pool name unique to this harness (pools filter List and Watch)."""
        self._pools += 1
        return f"{self.tag}-{self._pools}"

    def start(self) -> None:
        if not os.access(FLAMED_BIN, os.X_OK):
            raise RuntimeError(f"flamed binary {FLAMED_BIN} missing: build it (cmake --build "
                               "build --target flamed) or set FLAMED_BIN")
        if docker("image", "inspect", "--format", "ok", IMAGE, check=False) != "ok":
            raise RuntimeError(f"test image {IMAGE} missing: run scripts/test-images")
        docker("network", "create", "--label", f"{RUN_LABEL}={self.tag}", self.network)
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [FLAMED_BIN, "--listen", self.addr, "--stop-timeout-ms", "1000"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.client = flamed.Client(self.addr, timeout=10.0)
        # flamed adopts its containers and pings Docker before it listens: under a
        # loaded dockerd that takes a while (the C integration harness allows 45 s too).
        deadline = time.monotonic() + START_ALLOWANCE_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"flamed exited {self.proc.returncode}:\n{self.log()}")
            try:
                self.client.list(timeout=1.0)
                return
            except flamed.FlamedError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"flamed did not answer List in {START_ALLOWANCE_S} s:"
                                       f"\n{self.log()}")
                time.sleep(0.05)

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text()
        except OSError:
            return ""

    def leftovers(self) -> list[str]:
        """Containers (any state) carrying this harness's label."""
        out = docker("ps", "-aq", "--filter", f"label={RUN_LABEL}={self.tag}")
        return out.split()

    def stop(self) -> None:
        """Stop flamed (SIGTERM), force-remove labelled containers, remove the network.

        Raises AssertionError when flamed did not exit 0 in time; cleanup still runs.
        """
        problems = []
        if self.client is not None:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_ALLOWANCE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"flamed did not exit within {STOP_ALLOWANCE_S} s of SIGTERM")
        if self.proc is not None and self.proc.returncode not in (0, None) and not problems:
            problems.append(f"flamed exited {self.proc.returncode} after SIGTERM")
        ids = self.leftovers()
        if ids:
            docker("rm", "-f", *ids, check=False)
        docker("network", "rm", self.network, check=False)
        if problems or os.environ.get("FLAMED_TEST_KEEP_LOG"):
            sys.stderr.write(f"--- flamed log ({self.log_path})\n{self.log()}\n")
        if not problems:
            for name in os.listdir(self._dir):
                os.unlink(os.path.join(self._dir, name))
            os.rmdir(self._dir)
        if problems:
            raise AssertionError("; ".join(problems))


def start_module_harness() -> Harness:
    """For setUpModule: start a Harness whose stop() runs even if starting fails."""
    h = Harness()
    unittest.addModuleCleanup(h.stop)
    h.start()
    return h
