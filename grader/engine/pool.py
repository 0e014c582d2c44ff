"""Grading slots: sandboxed zygotes, started once and reused, notebooks run on them in parallel.

    with Engine(jobs=2) as engine:
        outcomes = engine.map([job_a, job_b, ...])   # a job: grader.engine.jobs.Job

Each slot is one sandbox with one zygote (torch imported once per slot, not per student). A
slot serves one notebook at a time; between notebooks everything the notebook started is killed
and its scratch folders are emptied (see grader.engine.zygote). A zygote that dies (a student
killed it, or it ran out of memory) is replaced, and only the notebook it was running is
reported as not graded.
"""
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.engine import sandbox as sb
from grader.engine.jobs import Job, Outcome, VariantsJob

STARTUP_TIMEOUT_S = 180


class SandboxUnavailable(RuntimeError):
    """No sandbox can run here and the instructor did not ask to grade without one."""


class Slot:
    def __init__(self, index: int, sandboxed: bool, limits: sb.Limits):
        self.index, self.sandboxed, self.limits = index, sandboxed, limits
        self.root = Path(tempfile.mkdtemp(prefix=f"grader-slot{index}-"))
        self.scratch = self.root / "work"
        self.process: subprocess.Popen | None = None
        self.cgroup: sb.Cgroup | None = None
        self.import_s = 0.0

    def start(self) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "grader.engine.zygote"]
        if self.sandboxed:
            self.cgroup = sb.Cgroup(f"grader-{os.getpid()}-{self.index}-{time.monotonic_ns()}", self.limits)
            command = sb.bwrap_command(self.scratch, self.limits.tmp_bytes) + ["--", *command, "--pid-namespace"]
            preexec = self.cgroup.join if self.cgroup.active else None
        else:
            preexec = None
        self.log = open(self.root / "zygote.log", "wb")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        preexec_fn=preexec, cwd=self.scratch)
        ready = self._read(time.monotonic() + STARTUP_TIMEOUT_S)
        if not ready or not json.loads(ready).get("ready"):
            self.stop()
            raise RuntimeError(f"grading slot {self.index} did not start:\n{self._log_tail()}")
        self.import_s = json.loads(ready)["import_s"]

    @property
    def workdir(self) -> str:
        return sb.SANDBOX_WORKDIR if self.sandboxed else str(self.scratch)

    def _read(self, deadline: float) -> bytes | None:
        out = self.process.stdout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([out], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(out.fileno(), 1 << 20)
            if not chunk:
                return None
            line += chunk
        return line

    def _log_tail(self) -> str:
        try:
            return (self.root / "zygote.log").read_bytes()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    def run(self, job: Job | VariantsJob) -> Outcome | dict:
        if self.process is None or self.process.poll() is not None:
            self.start()
        self._prepare_scratch(job)
        message = job.message(self.workdir, self.limits, wipe=[] if not self.sandboxed else ["/tmp", "/dev/shm"])
        message["keep"] = [str(path) for path in sb.readable_paths()]  # read-only mounts inside /tmp
        deadline = time.monotonic() + job.deadline_s(self.limits)
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
            line = self._read(deadline)
        except (BrokenPipeError, OSError):
            line = None
        if line is None:
            detail = self._log_tail().strip().splitlines()[-1:] or ["no answer"]
            self.stop()  # replaced on the next run
            return job.failed(f"the grading sandbox died while running this notebook ({detail[0][:200]})")
        return job.parse(json.loads(line))

    def _prepare_scratch(self, job: Job) -> None:
        for child in self.scratch.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        for name, data in job.files.items():
            target = self.scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def stop(self) -> None:
        if self.process is not None:
            try:
                self.process.kill()
                self.process.wait(timeout=10)
            except Exception:
                pass
            self.process = None
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Engine:
    """A pool of grading slots. ``jobs``: parallel notebooks (default: the machine's cores)."""

    def __init__(self, jobs: int | None = None, sandboxed: bool = True, limits: sb.Limits = sb.Limits()):
        if sandboxed and sb.sandbox_problem():
            raise SandboxUnavailable(
                f"cannot sandbox submissions here: {sb.sandbox_problem()}. Grading untrusted code without a "
                "sandbox lets it read solutions and change grades; pass --unsafe-no-sandbox only for "
                "submissions you trust.")
        self.sandboxed, self.limits = sandboxed, limits
        if sandboxed:  # notebooks cannot generate their data in the read-only sandbox: do it now
            from courselib.prepare import prepare_course_data
            prepare_course_data()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.slots = [Slot(i, sandboxed, limits) for i in range(self.jobs)]
        self._free: queue.Queue[Slot] = queue.Queue()
        for slot in self.slots:
            self._free.put(slot)
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return sb.describe(self.sandboxed, sb.cgroups_available(), bool(sb.gpu_devices()))

    def run(self, job: Job) -> Outcome:
        slot = self._free.get()
        try:
            return slot.run(job)
        finally:
            self._free.put(slot)

    def map(self, jobs: list[Job]) -> list[Outcome]:
        with ThreadPoolExecutor(max_workers=self.jobs) as threads:
            return list(threads.map(self.run, jobs))

    def close(self) -> None:
        for slot in self.slots:
            slot.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
