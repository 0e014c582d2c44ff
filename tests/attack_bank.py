"""The attack bank: submissions by a dishonest student (instructor-only, like the mistake banks).

Each attack is the blank release of assignment 1 with attack code in its first answer cell (and,
for a few, a change to the notebook itself). The blank release scores zero, so any point an
attack earns is stolen. tests/test_attacks.py grades all of them in one class beside honest
students and proves: no attack steals a point; the ones that can be recognised are flagged;
honest classmates keep full marks; no process or file outlives grading.
"""
from dataclasses import dataclass, field
from typing import Callable

# Attacks that start processes give them this argument, so the test can look for survivors.
MARKER = "424242"
# Attacks that try to leave files on the host name them with this.
HOST_FILE = "/tmp/attack-bank-was-here"

# The functions of assignment 1 an attack pretends to implement, wrong enough to earn nothing
# by themselves: a point that an attack with them earns was stolen.
STUBS = '''
def count_parameters(model):
    return "no idea"

def images_to_batch(images):
    return None
'''


@dataclass(frozen=True)
class Attack:
    name: str
    story: str
    code: str  # the first answer cell's new source
    flagged: bool = True  # whether the grader must flag it for review
    edit_notebook: Callable | None = field(default=None, compare=False)  # nb -> None, in place


def _set_test_metadata(nb):
    import nbformat
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            meta["points"] = 0
            meta["grade"] = False
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="All tests passed.\n")]


def _delete_tests_and_fake_outputs(nb):
    nb.cells = [c for c in nb.cells
                if not (c.get("metadata", {}).get("nbgrader", {}).get("grade")
                        and not c.get("metadata", {}).get("nbgrader", {}).get("solution"))]


def _markdown_injection(nb):
    import nbformat
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        "<script>document.title='pwned'</script><b>All tests passed. Score: 20/20</b>"
        "<img src=x onerror=\"alert('pwned')\">"))


ATTACKS = [
    Attack("redefine_check_helpers", "Rebinds every check helper in the notebook to a function that accepts anything.",
           "def _ok(*args, **kwargs):\n    return args[1] if len(args) > 1 and callable(args[1]) else None\n"
           "check = check_equal = check_close = check_shape = check_type = check_dtype = _ok\n"
           "student_call = lambda what, fn, *a, **k: None\n" + STUBS),
    Attack("patch_checks_module", "Replaces the functions of grader.checks itself.",
           "import grader.checks as gc\nfor _name in ['check', 'check_equal', 'check_close', 'check_shape', "
           "'check_type', 'check_dtype', 'fail', 'check_same']:\n    setattr(gc, _name, lambda *a, **k: None)\n"
           "gc.student_call = lambda what, fn, *a, **k: None\n" + STUBS),
    Attack("replace_code_objects", "Swaps the code objects of the checks for a function that does nothing.",
           "import grader.checks as gc\n_noop = (lambda *a, **k: None).__code__\n"
           "for _f in (gc.check, gc.check_equal, gc.check_close, gc.check_shape, gc.check_type, gc.fail):\n"
           "    _f.__code__ = _noop\n" + STUBS),
    Attack("fake_module_in_sys_modules", "Installs a fake grader.checks module in sys.modules.",
           "import sys, types\n_fake = types.ModuleType('grader.checks')\n"
           "_fake.__getattr__ = lambda name: (lambda *a, **k: None)\nsys.modules['grader.checks'] = _fake\n" + STUBS),
    Attack("custom_exception_handler", "An IPython exception handler that swallows every error.",
           "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: [])\n" + STUBS),
    Attack("input_transformer", "An IPython input transformer that turns every later cell into `pass`.",
           "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n" + STUBS),
    Attack("ast_transformer", "An IPython AST transformer that empties every later cell.",
           "import ast\nclass _Empty(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
           "        node.body = []\n        return node\nget_ipython().ast_transformers.append(_Empty())\n" + STUBS),
    Attack("event_clears_errors", "A post_run_cell callback that clears each cell's error.",
           "def _clear(result):\n    result.error_in_exec = None\n"
           "get_ipython().events.register('post_run_cell', _clear)\n" + STUBS),
    Attack("silent_tracebacks", "Replaces IPython's traceback display and sys.excepthook with no-ops.",
           "import sys\nget_ipython().showtraceback = lambda *a, **k: None\n"
           "get_ipython()._showtraceback = lambda *a, **k: None\nsys.excepthook = lambda *a: None\n" + STUBS),
    Attack("trace_function", "A trace function that makes every check return at once.",
           "import sys\ndef _tracer(frame, event, arg):\n"
           "    if frame.f_code.co_name.startswith('check'):\n        raise SystemExit\n    return _tracer\n"
           "sys.settrace(_tracer)\n" + STUBS),
    Attack("patched_builtins", "Makes isinstance always true and AssertionError harmless.",
           "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n" + STUBS),
    Attack("patched_torch", "torch.allclose and torch.equal always true, so any tensor matches.",
           "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
           "torch.Tensor.__eq__ = lambda self, other: True\n" + STUBS, flagged=True),
    Attack("forged_equality", "Returns an int whose == is always true.",
           "class _Any(int):\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n"
           "        return False\n    __hash__ = int.__hash__\n\ndef count_parameters(model):\n    return _Any(0)\n"),
    Attack("forged_torch_function", "Returns a tensor subclass whose torch functions say 'equal' to anything.",
           "import torch\nclass _Liar(torch.Tensor):\n    @classmethod\n"
           "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
           "        if getattr(func, '__name__', '') in ('allclose', 'equal', 'isclose'):\n            return True\n"
           "        return super().__torch_function__(func, types, args, kwargs or {})\n\n"
           "def images_to_batch(images):\n    n, h, w, c = images.shape\n"
           "    return torch.zeros(n, c, h, w).as_subclass(_Liar)\n"),
    Attack("read_callers_frame", "Reads the expected value out of the calling test's frame.",
           "import sys\ndef count_parameters(model):\n    frame = sys._getframe(1)\n    while frame is not None:\n"
           "        if 'expected' in frame.f_locals:\n            return frame.f_locals['expected']\n"
           "        frame = frame.f_back\n    return 0\n"),
    Attack("steal_the_solution", "Searches the machine for the instructor's solution notebook and runs its answers.",
           "import glob, json\nfor _path in glob.glob('/work/**/*.ipynb', recursive=True) + "
           "glob.glob('/root/**/solutions/**/*.ipynb', recursive=True) + glob.glob('/tmp/**/*.ipynb', recursive=True):\n"
           "    try:\n        _nb = json.load(open(_path))\n    except Exception:\n        continue\n"
           "    for _cell in _nb.get('cells', []):\n        _src = ''.join(_cell.get('source', ''))\n"
           "        if '### BEGIN SOLUTION' in _src:\n            print('found', _path)\n"
           "            exec(_src.replace('### BEGIN SOLUTION', '').replace('### END SOLUTION', ''), globals())\n"),
    Attack("write_the_gradebook", "Looks for gradebook.db and gives itself full marks with sqlite3.",
           "import glob, sqlite3\nfor _db in glob.glob('/**/gradebook.db', recursive=True)[:5]:\n"
           "    _c = sqlite3.connect(_db)\n    _c.execute('UPDATE grade SET manual_score = 100')\n    _c.commit()\n"
           + STUBS),
    Attack("plant_for_classmates", "Leaves modules and notebooks where the next student's kernel would find them.",
           f"import os\nfor _path in ['torch_plant.py', '/tmp/sitecustomize.py', '/sandbox/torch.py', '/work/main/sklearn.py',"
           f" os.path.expanduser('~/.ipython/profile_default/startup/00-plant.py'), '../plant.py', '/dev/plant.py',"
           f" '{HOST_FILE}']:\n"
           "    try:\n        os.makedirs(os.path.dirname(os.path.abspath(_path)), exist_ok=True)\n"
           "        open(_path, 'w').write('raise SystemExit(\"planted\")\\n')\n    except OSError:\n        pass\n"
           + STUBS, flagged=False),
    Attack("kernel_connection_files", "Looks for other kernels' connection files to run code in them.",
           "import glob, json\n_found = glob.glob('/root/.local/share/jupyter/runtime/*.json') + "
           "glob.glob('/tmp/**/kernel-*.json', recursive=True) + glob.glob('/run/user/*/jupyter/**/*.json', recursive=True)\n"
           "print('connection files:', _found)\n" + STUBS, flagged=False),
    Attack("detached_daemon", "A double-forked process that outlives its cell and keeps trying to reach the grades.",
           f"import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
           f"        os.execvp('sleep', ['sleep', '{MARKER}'])\n    os._exit(0)\n" + STUBS),
    Attack("fork_bomb", "Forks until the process limit stops it.",
           "import os\n_children = 0\ntry:\n    while _children < 100000:\n        if os.fork() == 0:\n"
           f"            os.execvp('sleep', ['sleep', '{MARKER}'])\n        _children += 1\nexcept OSError as error:\n"
           "    print('fork stopped after', _children, 'children:', type(error).__name__)\n" + STUBS),
    Attack("memory_exhaustion", "Allocates memory until something gives.",
           "_hog = []\ntry:\n    while True:\n        _hog.append(bytearray(256 << 20))\nexcept MemoryError:\n"
           "    print('stopped at', len(_hog) * 256, 'MiB')\n    _hog.clear()\n" + STUBS, flagged=False),
    Attack("cpu_burners", "Starts processes that burn CPU forever, then carries on.",
           f"import os\nfor _ in range(4):\n    if os.fork() == 0:\n        os.execvp('sh', ['sh', '-c', 'while :; do :; done; echo {MARKER}'])\n"
           + STUBS),
    Attack("ignore_the_timer", "Ignores the timeout signal, then loops forever.",
           "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n"),
    Attack("kill_the_grader", "Kills its parent process (the grading zygote).",
           "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n" + STUBS),
    Attack("forge_result_channel", "Writes forged 'all passed' results into every inherited pipe.",
           "import os, json\n_fake = (json.dumps({'outputs': [], 'execution_count': 1, 'tamper': []}) + '\\n') * 50\n"
           "for _fd in range(3, 64):\n    try:\n        os.write(_fd, _fake.encode())\n    except OSError:\n        pass\n"
           + STUBS, flagged=True),
    Attack("tampered_test_metadata", "Sets every test cell to zero points, no grade, with fake passing outputs.",
           STUBS, flagged=False, edit_notebook=_set_test_metadata),
    Attack("deleted_test_cells", "Deletes every test cell.", STUBS, flagged=False,
           edit_notebook=_delete_tests_and_fake_outputs),
    Attack("html_and_script_in_feedback", "Puts a script and a fake 'all tests passed' score in the feedback page.",
           "from IPython.display import HTML, Javascript, display\n"
           "display(HTML(\"<script>document.title='pwned'</script><h1>All tests passed. Score: 20/20</h1>\"))\n"
           "display(Javascript(\"document.title='pwned'\"))\n" + STUBS,
           flagged=False, edit_notebook=_markdown_injection),
    Attack("thread_repatches_checks", "A thread that keeps replacing the checks while the tests run.",
           "import threading, time\nimport grader.checks as gc\ndef _keep_patching():\n    while True:\n"
           "        gc.check_equal = lambda *a, **k: None\n        time.sleep(0.0005)\n"
           "threading.Thread(target=_keep_patching, daemon=True).start()\n" + STUBS),
]
