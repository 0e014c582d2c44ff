"""A static scan of the code a student wrote, for the APIs that patch a running grader.

The sandbox keeps a submission away from everything outside its notebook; inside the notebook
the executor guards the test cells (grader.engine.executor). This scan adds evidence, in two
grades:

* **tampering**: APIs whose only use in an answer is to reach into the grader or the tests
  (IPython's hooks and exception handlers, the call stack and other frames' variables, code
  objects, trace functions, ``sys.modules`` and the import hooks, assigning to a check helper).
  Their tests cannot be trusted: the engine scores them zero, and the submission is flagged.
* **review**: APIs with rare legitimate uses (processes, sockets, databases, ``exec``, signal
  handlers, objects that redefine ``==``): the submission is flagged for manual review, and the
  points stand.
"""
import ast

from grader.engine.jobs import Job

SUSPICIOUS_MODULES = {
    "sqlite3": "opens databases (the gradebook is one)",
    "subprocess": "starts processes",
    "socket": "opens network connections",
    "ctypes": "calls C functions directly",
    "gc": "reaches objects through the garbage collector",
    "inspect": "inspects frames and source code",
    "importlib": "manipulates the import system",
    "builtins": "changes Python's built-in functions",
    "pty": "starts terminals",
    "signal": "changes signal handlers (the grader's timeouts)",
    "dis": "disassembles code",
    "marshal": "loads code objects",
}
SUSPICIOUS_ATTRIBUTES = {
    "set_custom_exc": "installs an IPython exception handler",
    "input_transformers_cleanup": "installs an IPython input transformer",
    "input_transformers_post": "installs an IPython input transformer",
    "ast_transformers": "installs an IPython AST transformer",
    "showtraceback": "replaces IPython's error display",
    "_showtraceback": "replaces IPython's error display",
    "run_cell": "re-enters IPython's cell runner",
    "excepthook": "replaces the exception hook",
    "displayhook": "replaces the display hook",
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "_getframe": "reads the call stack",
    "f_back": "reads the call stack",
    "f_globals": "reads another frame's variables",
    "f_locals": "reads another frame's variables",
    "f_builtins": "reads another frame's builtins",
    "tb_frame": "reads frames from a traceback",
    "__code__": "reads or replaces a function's code",
    "__globals__": "reads another function's globals",
    "__builtins__": "reads or replaces built-in functions",
    "__torch_function__": "overrides torch functions for its own tensors",
    "__torch_dispatch__": "overrides torch operators for its own tensors",
    "meta_path": "patches the import system",
    "path_hooks": "patches the import system",
    "modules": None,  # only sys.modules (see below)
    "kill": None,  # only os.kill / os.killpg
    "killpg": None,
    "events": None,  # only an IPython shell's events
}
OS_PROCESS_CALLS = {"kill", "killpg", "system", "popen", "fork", "forkpty", "execv", "execve", "execl",
                    "execlp", "execvp", "spawnl", "spawnv", "posix_spawn", "setsid"}
FORGED_METHODS = {"__eq__", "__ne__", "__bool__", "__torch_function__", "__torch_dispatch__"}
DYNAMIC_CODE = {"exec", "eval", "compile", "__import__", "get_ipython", "globals"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    return ""


# Reasons whose presence voids the tests (see the module docstring); the rest ask for review.
TAMPERING_MARKERS = ("installs an IPython", "replaces IPython", "re-enters IPython", "IPython event",
                     "call stack", "frame", "function's code", "trace function", "profile function",
                     "sys.modules", "import system", "patches the checks", "grader's internals",
                     "exception hook", "display hook", "built-in functions", "calls C functions")


def is_tampering(reason: str) -> bool:
    return any(marker in reason for marker in TAMPERING_MARKERS) and not reason.startswith(("imports inspect",
                                                                                          "imports dis"))


def scan_source(source: str) -> list[str]:
    """Reasons to review this code, one per kind of suspicious use, in order of first appearance."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # IPython syntax (magics): not Python, nothing this scan can judge
    reasons: list[str] = []

    def flag(reason: str) -> None:
        if reason not in reasons:
            reasons.append(reason)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in SUSPICIOUS_MODULES:
                    flag(f"imports {top} ({SUSPICIOUS_MODULES[top]})")
                if top == "grader" and isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                    flag("imports everything from the grader")
                if name.startswith("grader.engine"):
                    flag("imports the grading engine (reaches into the grader's internals)")
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if node.attr == "modules" and dotted.endswith("sys.modules"):
                flag("patches sys.modules")
            elif node.attr in OS_PROCESS_CALLS and dotted.startswith("os."):
                flag(f"calls {dotted} (processes and signals)")
            elif node.attr == "register" and isinstance(node.value, ast.Attribute) and node.value.attr == "events":
                flag("registers IPython event callbacks")
            elif SUSPICIOUS_ATTRIBUTES.get(node.attr):
                flag(f"uses {node.attr} ({SUSPICIOUS_ATTRIBUTES[node.attr]})")
            elif node.attr.startswith("_") and dotted.startswith("grader."):
                flag(f"reaches into the grader's internals ({dotted})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DYNAMIC_CODE:
            flag(f"calls {node.func.id}() (runs or reaches code dynamically)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in FORGED_METHODS:
            flag(f"defines {node.name} (objects that could forge comparisons)")
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                dotted = _dotted(target)
                if dotted.startswith(("grader.", "checks.")) or \
                        dotted in {"check", "check_equal", "check_close", "check_same", "check_shape",
                                   "check_type", "check_dtype", "student_call", "CheckFailed", "Clauses",
                                   "describe_device", "grading_device", "to_device"}:
                    flag(f"assigns to {dotted} (patches the checks)")
                elif dotted.startswith(("torch.", "np.", "numpy.", "math.", "F.", "nn.")) and \
                        not dotted.startswith("torch.backends."):
                    flag(f"assigns to {dotted} (replaces a library function)")
    return reasons


def scan_job(job: Job) -> list[str]:
    """Reasons to review a submission: the scan of every cell the student wrote."""
    reasons: list[str] = []
    for cell in job.cells:
        if cell["kind"] == "code":
            for reason in scan_source(cell["source"]):
                if reason not in reasons:
                    reasons.append(reason)
    return reasons
