"""Execute one notebook's cells in this process and turn what they do into nbformat outputs.

This runs inside the sandboxed child that the zygote forks for one submission (see
``grader.engine.zygote``); the mutant runner uses it the same way. Cells arrive one at a time
and each comes back as a list of nbformat outputs.

Student cells (answers, setup, anything not a test) run through IPython's ``run_cell``, so they
behave as in JupyterLab. Test cells never do: they are compiled and run directly, so that IPython
hooks, input transformers and custom exception handlers that an answer cell installs cannot
touch them. Before every test cell the executor

* rebinds the check helpers (``grader.checks``) that the setup cell imported to the genuine
  objects it captured before any student code ran, and checks that neither they nor their code
  objects were replaced (a replacement is reported as tampering);
* removes trace and profile functions, and gives the cell pristine builtins;
* removes, after a cell that holds hidden tests, every name it defined or rebound, so hidden
  helpers and hidden inputs are out of reach of later answer cells; while it runs, its own
  helpers are renamed where a student cell used the same name (``grader.engine.names``), so
  the student's functions never call the test's helper.

After each test cell it runs a canary, a check that must fail; a canary that passes means that
student code suppresses failures, and is reported as tampering.

Warnings never cost points: in a test cell, a warning or anything written to stderr becomes a
note on stdout (nbgrader gives zero to a test cell with any stderr output).
"""
import ast
import builtins
import linecache
import secrets
import signal
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass, field

from grader.engine.names import keep_apart

# What one cell may print before the rest is cut (per stream), and a note that says so.
MAX_STREAM_CHARS = 20_000
TRUNCATED_NOTE = "\n... (output truncated: {n} more characters)\n"
WARNING_PREFIX = "Note (costs no points): "
CANARY_TOKEN_PREFIX = "canary-"


_ABSENT = object()


class CellTimeoutError(BaseException):
    """A cell ran past its time limit (a BaseException: ``except Exception`` does not swallow it)."""


@dataclass
class Cell:
    kind: str  # "code" (answers, setup: student code), "test", "hidden_test"
    source: str


@dataclass
class CellResult:
    outputs: list = field(default_factory=list)
    execution_count: int | None = None
    tamper: list[str] = field(default_factory=list)


class _Stream:
    """A text stream that becomes one nbformat ``stream`` output per name, bounded in size."""

    def __init__(self, sink: "_OutputSink", name: str):
        self.sink, self.name = sink, name

    def write(self, text):
        if not isinstance(text, str):
            text = str(text)
        self.sink.add_stream(self.name, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"


class _OutputSink:
    def __init__(self):
        self.outputs: list[dict] = []
        self.dropped: dict[str, int] = {}
        self.sizes: dict[str, int] = {}

    def add_stream(self, name: str, text: str) -> None:
        used = self.sizes.get(name, 0)
        room = MAX_STREAM_CHARS - used
        if room <= 0:
            self.dropped[name] = self.dropped.get(name, 0) + len(text)
            return
        if len(text) > room:
            self.dropped[name] = self.dropped.get(name, 0) + len(text) - room
            text = text[:room]
        self.sizes[name] = used + len(text)
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def add(self, output: dict) -> None:
        self.outputs.append(output)

    def finish(self) -> list[dict]:
        for name, n in self.dropped.items():
            self.outputs.append({"output_type": "stream", "name": name, "text": TRUNCATED_NOTE.format(n=n)})
        return self.outputs


def _plain_text(value) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a student's broken __repr__
        text = f"<repr failed: {type(error).__name__}>"
    return text[:MAX_STREAM_CHARS]


class NotebookExecutor:
    """Runs cells of one notebook, in order, in one namespace."""

    def __init__(self, cell_timeout_s: float):
        from IPython.core.interactiveshell import InteractiveShell

        self.cell_timeout_s = cell_timeout_s
        self.shell = InteractiveShell.instance()
        # Student-cell errors become error outputs, as in a Jupyter kernel.
        self.shell.showtraceback = self._record_traceback
        self.shell.showsyntaxerror = self._record_traceback
        self.shell._showtraceback = self._record_structured_traceback
        self.shell.display_pub.publish = self._record_display
        self.shell.displayhook.write_output_prompt = lambda: None
        self.shell.displayhook.write_format_data = self._record_result
        self.shell.displayhook.finish_displayhook = lambda: None
        self.namespace = self.shell.user_ns
        self._student_names: set[str] = set()
        self.execution_count = 0
        self._sink: _OutputSink | None = None
        self._stderr_is_note = False
        # Captured before any student code runs: what test cells must see.
        self._pristine_builtins = dict(vars(builtins))
        from grader.engine.guard import Guard
        self.guard = Guard()
        from grader.checks import PartialCredit
        self._partial_credit = PartialCredit
        self._real_stdout, self._real_stderr = sys.stdout, sys.stderr

    # ---- capture ------------------------------------------------------------------------
    def _record_traceback(self, *args, **kwargs):
        etype, value, tb = sys.exc_info()
        if etype is None:
            return
        self._add_error(etype, value, tb)

    def _record_structured_traceback(self, etype, evalue, stb):
        self._sink.add({"output_type": "error", "ename": etype.__name__, "evalue": str(evalue)[:MAX_STREAM_CHARS],
                        "traceback": list(stb)[-30:]})

    def _add_error(self, etype, value, tb) -> None:
        from grader.checks import CheckFailed

        if isinstance(value, CheckFailed) or etype is CellTimeoutError:
            lines = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
        else:
            lines = traceback.format_exception(etype, value, tb)
            lines = [line.rstrip("\n") for line in lines][-30:]
        self._sink.add({"output_type": "error", "ename": etype.__name__, "evalue": str(value)[:MAX_STREAM_CHARS],
                        "traceback": lines})

    def _record_display(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        if self._sink is not None:
            self._sink.add({"output_type": "display_data", "data": dict(data), "metadata": dict(metadata or {})})

    def _record_result(self, format_dict, md_dict=None):
        self._sink.add({"output_type": "execute_result", "data": dict(format_dict),
                        "metadata": dict(md_dict or {}), "execution_count": self.execution_count})

    def _show_warning(self, message, category, filename, lineno, file=None, line=None):
        # Once per cell: a warning raised on every call of a tested function would otherwise
        # repeat as often as the tests call it.
        note = f"{WARNING_PREFIX}{category.__name__}: {message}\n"
        if note not in self._notes_shown:
            self._notes_shown.add(note)
            self._sink.add_stream("stdout", note)

    # ---- integrity -----------------------------------------------------------------------
    def _restore(self) -> list[str]:
        """Put back whatever the tests rely on; describe what student code had replaced."""
        problems = self.guard.restore()
        for name in self._imported_checks:
            genuine = self._genuine_names[name]
            if self.namespace.get(name) is not genuine:
                problems.append(f"the check helper {name!r} was redefined by student code")
                self.namespace[name] = genuine
        return problems

    @property
    def _imported_checks(self) -> set:
        return getattr(self, "_check_names", set())

    def note_imported_checks(self) -> None:
        """After the setup cell: remember which check helpers the notebook imported by name."""
        import grader.checks as checks
        import grader.device as device

        self._genuine_names = {name: value for module in (checks, device) for name, value in vars(module).items()
                               if not name.startswith("_") and self.namespace.get(name) is value}
        self._check_names = set(self._genuine_names)

    # ---- running -------------------------------------------------------------------------
    def run(self, cell: Cell) -> CellResult:
        self.execution_count += 1
        self._sink = _OutputSink()
        result = CellResult(execution_count=self.execution_count)
        sys.stdout, sys.stderr = _Stream(self._sink, "stdout"), _Stream(self._sink, "stderr")
        self._arm_timer()
        try:
            if cell.kind == "code":
                held = {name: id(value) for name, value in self.namespace.items()}
                self.shell.run_cell(cell.source, store_history=False)
                # What student cells bind: a hidden test's helper of the same name is kept apart.
                self._student_names.update(name for name, value in self.namespace.items()
                                           if held.get(name) != id(value))
            else:
                result.tamper += self._restore()
                self._run_test(cell)
                # Replaced while the test ran (a thread, a finalizer): this verdict is void too.
                result.tamper += self._restore()
                result.tamper += self._canary()
        except CellTimeoutError:
            self._add_error(CellTimeoutError, CellTimeoutError(f"the cell ran for more than {self.cell_timeout_s:g} s"), None)
        finally:
            self._disarm_timer()
            sys.stdout, sys.stderr = self._real_stdout, self._real_stderr
        result.outputs = self._sink.finish()
        self._sink = None
        return result

    def _run_test(self, cell: Cell) -> None:
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        namespace = self.namespace
        # A hidden-test cell runs in the notebook's namespace (so what it defines is found in
        # __main__, e.g. by pickle), and afterwards every name it added or rebound is put back.
        before = dict(namespace) if cell.kind == "hidden_test" else None
        namespace["__builtins__"] = dict(self._pristine_builtins)
        filename = f"<test cell {self.execution_count}>"
        tree = ast.parse(cell.source, filename)
        if before is not None:
            aliases = keep_apart(tree, self._student_names, secrets.token_hex(4))
            for name, alias in aliases.items():
                if name in namespace:
                    namespace[alias] = namespace[name]
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        stderr = sys.stderr
        sys.stderr = _Stream(_NoteSink(self._sink), "stdout")  # stderr is a note in test cells
        self._notes_shown: set[str] = set()
        with warnings.catch_warnings():
            warnings.showwarning = self._show_warning
            try:
                exec(compile(tree, filename, "exec"), namespace)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
                    # Only a verdict's PartialCredit is a test cell's result (nbgrader's partial
                    # credit); any other value on a test cell's last line means nothing.
                    if type(value) is self._partial_credit:
                        self._sink.add({"output_type": "execute_result",
                                        "data": {"text/plain": _plain_text(value)}, "metadata": {},
                                        "execution_count": self.execution_count})
            except CellTimeoutError:
                raise
            except BaseException:
                etype, value, tb = sys.exc_info()
                self._add_error(etype, value, tb.tb_next if tb else None)
            finally:
                sys.stderr = stderr
                if before is not None:
                    for name in [n for n in namespace if n not in before]:
                        del namespace[name]
                    for name, value in before.items():
                        if namespace.get(name, _ABSENT) is not value:
                            namespace[name] = value
                self.namespace["__builtins__"] = builtins
                linecache.cache.pop(filename, None)
                del tree

    def _canary(self) -> list[str]:
        """A check that must fail. It passes only when student code suppresses failures."""
        import grader.checks as checks

        token = CANARY_TOKEN_PREFIX + secrets.token_hex(6)
        try:
            checks.check_equal(secrets.randbelow(1000), 1000 + secrets.randbelow(1000), token)
        except checks.CheckFailed as failure:
            if token in str(failure):
                return []
        except BaseException:
            pass
        return ["a check that must fail passed: student code suppresses failed checks"]

    # ---- time limits ---------------------------------------------------------------------
    def _arm_timer(self) -> None:
        def expire(signum, frame):
            raise CellTimeoutError(f"the cell ran for more than {self.cell_timeout_s:g} s")
        signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.cell_timeout_s)

    def _disarm_timer(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)


class _NoteSink:
    """Routes stderr text of a test cell to stdout, marked as a note."""

    def __init__(self, sink: _OutputSink):
        self.sink = sink

    def add_stream(self, name, text):
        if text.strip():
            text = "".join(WARNING_PREFIX + line if line.strip() else line for line in text.splitlines(True))
        self.sink.add_stream("stdout", text)
