"""The fork server: imports torch once, then forks one child per notebook.

Started by :mod:`grader.engine.pool`, normally inside a bubblewrap sandbox (see
:mod:`grader.engine.sandbox`), as ``python -m grader.engine.zygote``. It speaks JSON lines on
its stdin and stdout:

    <- {"ready": true, "import_s": 2.9}
    -> {"cells": [{"kind": "setup"|"code"|"test"|"hidden_test", "source": "..."}, ...],
        "cwd": "/sandbox/work", "cell_timeout_s": 60, "threads": 1, "stop_on_test_failure": false}
    <- {"results": [{"outputs": [...], "execution_count": 1, "tamper": []}, ...],
        "status": "ok" | "timeout" | "crashed", "detail": "...", "seconds": 1.2}

Each notebook runs in a forked child, which learns one cell at a time: hidden tests reach the
child only when they run, so student code cannot read tests it has not been given. The child's
stdout and stderr go to a file, never to the protocol channel. The zygote marks itself
non-dumpable, so the child (same user, no capabilities) can neither trace it nor read its memory.
After each notebook every other process in the sandbox is killed and the scratch folders are
emptied, so nothing one student starts or writes reaches the next.
"""
import ctypes
import json
import os
import resource
import secrets
import select
import shutil
import signal
import sys
import time

PR_SET_DUMPABLE = 4
# Extra seconds a cell gets beyond its own limit before its process is killed: the in-process
# timer normally ends it first; this catches code that swallows the timeout.
KILL_GRACE_S = 10
OUTPUT_LOG = ".engine-output.log"


def _warm_up() -> float:
    """Import what every notebook imports, once, before any fork."""
    start = time.perf_counter()
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy  # noqa: F401
    import torch  # noqa: F401
    # The first torch.optim optimizer a notebook makes imports torch._dynamo (about 1 s): once here.
    import torch._dynamo  # noqa: F401
    import torchvision  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    import grader.checks  # noqa: F401
    import grader.device  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    return time.perf_counter() - start


def _set_child_limits(job: dict) -> None:
    memory = job.get("memory_bytes")
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = job.get("cpu_seconds")
    if cpu:
        used = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime)
        resource.setrlimit(resource.RLIMIT_CPU, (used + cpu, used + cpu + 5))
    fsize = job.get("file_bytes")
    if fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


def _prepare_child(job: dict, keep: tuple[int, ...]) -> None:
    """A forked child's process state: its own session, output to a log file, only ``keep`` open."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(os.path.join(job["cwd"], OUTPUT_LOG), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 4096)
    os.chdir(job["cwd"])
    _set_child_limits(job)
    import torch

    torch.set_num_threads(job.get("threads", 1))


def _child(job: dict, commands: int, results: int) -> None:
    """Runs in the forked child: execute cells as they arrive, answer each with its outputs."""
    _prepare_child(job, keep=(commands, results))
    from grader.engine.executor import Cell, NotebookExecutor

    executor = NotebookExecutor(job.get("cell_timeout_s", 60))
    # Held here, where student code cannot rebind them: the guard and the class's own run().
    guard, run = executor.guard, NotebookExecutor.run
    reader = os.fdopen(commands, "r")
    writer = os.fdopen(results, "w")
    for line in reader:
        message = json.loads(line)
        if message is None:
            break
        cell, nonce = Cell(message["kind"], message["source"]), message["nonce"]
        del message
        replaced = guard.restore() if cell.kind in ("test", "hidden_test") else []
        result = run(executor, cell)
        result.tamper = replaced + result.tamper
        if cell.kind == "setup":
            executor.note_imported_checks()
        writer.write(json.dumps({"nonce": nonce, "outputs": result.outputs,
                                 "execution_count": result.execution_count, "tamper": result.tamper}) + "\n")
        writer.flush()
    os._exit(0)


class _LineReader:
    def __init__(self, fd: int):
        self.fd, self.pending = fd, b""

    def read(self, deadline: float) -> bytes | None:
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return b""
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line


def _canary_cell() -> dict:
    """A hidden test that must fail, with a token only this zygote knows until it is sent."""
    token = secrets.token_hex(8)
    return {"kind": "hidden_test", "token": token,
            "source": f"### BEGIN HIDDEN TESTS\nfrom grader.checks import check_equal\n"
                      f"check_equal({secrets.randbelow(100)}, {100 + secrets.randbelow(100)}, 'count of {token}')\n"
                      "### END HIDDEN TESTS"}


def _canary_failed(canary: dict, result: dict) -> bool:
    return any(o["output_type"] == "error" and o.get("ename") == "CheckFailed" and canary["token"] in o.get("evalue", "")
               for o in result["outputs"])


def _failed(result: dict) -> bool:
    """Whether a test cell lost points: an error, or a number as its result (partial credit)."""
    return any(output["output_type"] in ("error", "execute_result") for output in result["outputs"])


def _kill_everything_else(own_pid_namespace: bool, child: int) -> None:
    """Kill every process the notebook started: all of the sandbox but this one and its init."""
    try:
        os.killpg(child, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if own_pid_namespace:
        me = os.getpid()
        for _ in range(100):
            others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
            if not others:
                break
            for pid in others:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            _reap()
            time.sleep(0.01)
    _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _empty(folder: str, keep: tuple[str, ...] = ()) -> None:
    """Delete what ``folder`` holds, except the read-only mounts in ``keep`` and the folders above them."""
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if path in keep:
            continue
        if any(kept.startswith(path + "/") for kept in keep):
            _empty(path, keep)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _wipe(job: dict) -> None:
    """Empty what a notebook could write to, so nothing reaches the next notebook of this slot."""
    for folder in [job["cwd"], *job.get("wipe", [])]:
        _empty(folder, tuple(job.get("keep", ())))
    if job.get("wipe"):  # the sandbox's /dev is writable (device nodes live there): drop plain files
        for name in os.listdir("/dev"):
            path = os.path.join("/dev", name)
            if os.path.isfile(path) and not os.path.islink(path):
                os.unlink(path)


def run_job(job: dict, own_pid_namespace: bool) -> dict:
    start = time.perf_counter()
    commands_r, commands_w = os.pipe()
    results_r, results_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(commands_w)
            os.close(results_r)
            _child(job, commands_r, results_w)
        finally:
            os._exit(70)
    os.close(commands_r)
    os.close(results_w)
    reader = _LineReader(results_r)
    results, status, detail = [], "ok", ""
    cell_timeout = job.get("cell_timeout_s", 60)

    def exchange(cell: dict) -> dict | None:
        """Send one cell, return its result; None (with status and detail set) when it has none."""
        nonlocal status, detail
        nonce = secrets.token_hex(16)  # a reply without it was not written by the executor for this cell
        os.write(commands_w, (json.dumps({**cell, "nonce": nonce}) + "\n").encode())
        line = reader.read(time.monotonic() + cell_timeout + KILL_GRACE_S)
        if line is None:
            status, detail = "timeout", (f"cell {len(results) + 1} still ran {cell_timeout + KILL_GRACE_S:g} s "
                                         "after it started, ignoring its time limit; its process was killed")
            return None
        if line == b"":
            status, detail = "crashed", _exit_description(pid)
            return None
        try:
            result = json.loads(line)
        except ValueError:
            result = {}
        if not isinstance(result, dict) or result.get("nonce") != nonce:
            status, detail = "tampered", "the notebook wrote forged results into the grader's channel"
            return None
        return result

    try:
        for cell in job["cells"]:
            result = exchange(cell)
            if result is None:
                break
            results.append(result)
            if cell["kind"] in ("test", "hidden_test"):
                canary = _canary_cell()
                canary_result = exchange(canary)
                if canary_result is None:
                    break
                if not _canary_failed(canary, canary_result):
                    result["tamper"] = result.get("tamper", []) + [
                        "a test that must fail passed: student code suppresses failing tests"]
            if job.get("stop_on_test_failure") and cell["kind"] in ("test", "hidden_test") and _failed(result):
                break
        else:
            os.write(commands_w, b"null\n")
            reader.read(time.monotonic() + 5)
    except BrokenPipeError:
        status, detail = "crashed", _exit_description(pid)
    finally:
        for fd in (commands_w, results_r):
            try:
                os.close(fd)
            except OSError:
                pass
        _kill_everything_else(own_pid_namespace, pid)
    log_tail = _log_tail(job["cwd"])
    _wipe(job)
    return {"results": results, "status": status, "detail": detail, "log_tail": log_tail,
            "seconds": round(time.perf_counter() - start, 3)}


def _exit_description(pid: int) -> str:
    try:
        _, wait_status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "the notebook's process ended unexpectedly"
    if os.WIFSIGNALED(wait_status):
        sig = signal.Signals(os.WTERMSIG(wait_status)).name
        reason = {"SIGKILL": " (killed: out of memory or a resource limit)",
                  "SIGXCPU": " (its CPU time limit was reached)",
                  "SIGSEGV": " (a segmentation fault)"}.get(sig, "")
        return f"the notebook's process died from {sig}{reason}"
    return f"the notebook's process exited with status {os.WEXITSTATUS(wait_status)} (os._exit or sys.exit)"


def _log_tail(cwd: str) -> str:
    try:
        with open(os.path.join(cwd, OUTPUT_LOG), "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 2000))
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def _variant_child(executor, variant: list[dict], report: int) -> None:
    """In a grandchild: run one variant's cells after the shared prefix; report killed or survived."""
    os.setpgid(0, 0)
    from grader.engine.executor import Cell

    verdict = {"killed": False}
    for index, cell in enumerate(variant):
        result = executor.run(Cell(cell["kind"], cell["source"]))
        outputs = {"outputs": result.outputs}
        if cell["kind"] in ("test", "hidden_test") and _failed(outputs):
            error = next((o for o in result.outputs if o["output_type"] == "error"), None)
            verdict = {"killed": True, "cell": index,
                       "why": f"{error['ename']}: {error['evalue']}"[:300] if error else "partial credit"}
            break
    os.write(report, (json.dumps(verdict) + "\n").encode())
    os._exit(0)


def _variants_child(job: dict, results: int) -> None:
    """In the child: run the shared prefix once, then fork one grandchild per variant."""
    from grader.engine.executor import Cell, NotebookExecutor

    executor = NotebookExecutor(job.get("cell_timeout_s", 60))
    for index, cell in enumerate(job["prefix"]):
        result = executor.run(Cell(cell["kind"], cell["source"]))
        if cell["kind"] == "setup":
            executor.note_imported_checks()
        if cell["kind"] in ("test", "hidden_test") and _failed({"outputs": result.outputs}):
            os.write(results, (json.dumps({"prefix_failed": index, "outputs": result.outputs}) + "\n").encode())
            os._exit(0)
    verdicts = []
    for variant in job["variants"]:
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(report_r)
            try:
                _variant_child(executor, variant, report_w)
            finally:
                os._exit(70)
        os.close(report_w)
        line = _LineReader(report_r).read(time.monotonic() + len(variant) * (job.get("cell_timeout_s", 60) + 2))
        os.close(report_r)
        if line:
            verdicts.append(json.loads(line))
        else:
            verdicts.append({"killed": True, "cell": None,
                             "why": "timed out" if line is None else "the process died"})
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os.write(results, (json.dumps({"verdicts": verdicts}) + "\n").encode())
    os._exit(0)


def run_variants(job: dict, own_pid_namespace: bool) -> dict:
    """Mutation analysis: one prefix of cells, then many variants of the rest, each judged alone."""
    start = time.perf_counter()
    results_r, results_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(results_r)
            _prepare_child(job, keep=(results_w,))
            _variants_child(job, results_w)
        finally:
            os._exit(70)
    os.close(results_w)
    budget = (len(job["prefix"]) + sum(len(v) for v in job["variants"])) * (job.get("cell_timeout_s", 60) + 2) + 30
    line = _LineReader(results_r).read(time.monotonic() + budget)
    os.close(results_r)
    _kill_everything_else(own_pid_namespace, pid)
    _wipe(job)
    answer = json.loads(line) if line else {"error": "the mutant runner did not answer"}
    answer["seconds"] = round(time.perf_counter() - start, 3)
    return answer


def main() -> None:
    own_pid_namespace = "--pid-namespace" in sys.argv
    channel_in = os.fdopen(os.dup(0), "r")
    channel_out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # a stray print must never reach the protocol channel
    import_s = _warm_up()
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    channel_out.write(json.dumps({"ready": True, "import_s": round(import_s, 3), "pid": os.getpid()}) + "\n")
    channel_out.flush()
    for line in channel_in:
        job = json.loads(line)
        if job is None:
            break
        runner = run_variants if job.get("mode") == "variants" else run_job
        channel_out.write(json.dumps(runner(job, own_pid_namespace)) + "\n")
        channel_out.flush()


if __name__ == "__main__":
    main()
