"""A real JupyterLab server on a course folder, started as `make course` starts it (without a browser)."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from grader.paths import REPO_ROOT

LAB_CONFIG = REPO_ROOT / "grader" / "jupyter_server_config.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(course: Path, token: str, log: Path, timeout_s: float = 120):
    """Yield the base URL of JupyterLab serving ``course`` (its working directory and root)."""
    port = free_port()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COURSE_EXCHANGE", None)
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             f"--ServerApp.token={token}", f"--ServerApp.root_dir={course}", "--allow-root",
             f"--config={LAB_CONFIG}",
             # Open tabs and settings of earlier sessions (kept per user, in ~/.jupyter) stay out.
             f"--LabApp.workspaces_dir={course.parent / 'lab-workspaces'}",
             f"--LabApp.user_settings_dir={course.parent / 'lab-settings'}"],
            cwd=course, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("JupyterLab did not start:\n" + log.read_text()[-3000:])
                    time.sleep(0.5)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
