"""Mutation analysis of an assignment's tests: ``python -m grader mutants ASSIGNMENT``.

Each mutant is the solution with one small change in one answer cell's solution region: mutmut's
operators (operators, comparisons, numbers, strings, names, dropped or ``None`` arguments,
assignments, ...) plus the course's own for PyTorch code (below). A mutant is *killed* when some
visible or hidden test loses points, and *survives* when every test passes: then either a test
is missing, or the mutant is equivalent under the contract, which the instructor records with a
one-line reason in ``solutions/<assignment>/mutants.py``::

    EQUIVALENT = {"count_parameters@3f9a1c2b07": "sum() over an empty generator is 0 either way"}

Mutants run in the grading engine: for each answer cell the notebook's cells before it run once,
then every mutant of that cell is forked from that state and runs the rest, stopping at its first
failed test (grader.engine.zygote ``run_variants``).
"""
import difflib
import fnmatch
import hashlib
import importlib.util
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ParentNodeProvider, PositionProvider
from mutmut.mutation.mutators import mutation_operators as mutmut_operators

from grader import notebooks
from grader.config import INSTRUCTOR_ONLY_FILES
from grader.engine.jobs import VariantsJob, cell_kind, folder_files
from grader.engine.pool import Engine
from grader.engine.sandbox import Limits
from grader.paths import SOLUTIONS_DIR

REQUIRED_SCORE = 0.90

# ---- the course's operators for PyTorch code -----------------------------------------------
# Calls whose result is (nearly) their receiver: dropping one is a classic bug (a missing
# detach/clone/copy aliases live state; a missing eval/item/float changes mode, type or dtype).
RECEIVER_METHODS = {"detach", "clone", "copy", "contiguous", "float", "double", "item", "cpu", "eval", "train",
                    "requires_grad_", "tolist", "numpy", "squeeze", "unsqueeze", "flatten", "long", "to"}
SWAPPED_NAMES = {"mean": "sum", "sum": "mean", "max": "min", "min": "max", "argmax": "argmin",
                 "argmin": "argmax", "float32": "float64", "float64": "float32", "long": "int32", "int64": "int32",
                 "no_grad": "enable_grad", "inference_mode": "enable_grad", "zeros": "ones", "ones": "zeros",
                 "zeros_like": "ones_like", "ones_like": "zeros_like", "std": "var", "var": "std",
                 "items": "values", "keys": "values", "append": "extend", "extend": "append",
                 "permute": "reshape", "reshape": "view", "cat": "stack", "stack": "cat",
                 "startswith": "endswith", "endswith": "startswith", "isinstance": "issubclass"}
WRAPPERS = {"sorted", "list", "tuple", "reversed", "abs", "float", "int", "bool", "str", "set", "dict"}


def operator_drop_receiver_call(node: cst.Call) -> Iterable[cst.CSTNode]:
    """``x.detach()`` -> ``x``"""
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in RECEIVER_METHODS:
        yield node.func.value


def operator_swap_attribute(node: cst.Attribute) -> Iterable[cst.CSTNode]:
    """``x.mean()`` -> ``x.sum()``, ``torch.float32`` -> ``torch.float64``, ..."""
    new = SWAPPED_NAMES.get(node.attr.value)
    if new:
        yield node.with_changes(attr=cst.Name(new))


def operator_unwrap_call(node: cst.Call) -> Iterable[cst.CSTNode]:
    """``sorted(x)`` -> ``x``"""
    if isinstance(node.func, cst.Name) and node.func.value in WRAPPERS and len(node.args) == 1 \
            and not node.args[0].star:
        yield node.args[0].value


def operator_remove_statement(node: cst.SimpleStatementLine) -> Iterable[cst.CSTNode]:
    """Any simple statement -> ``pass``"""
    if not m.matches(node, m.SimpleStatementLine(body=[m.Pass()])):
        yield node.with_changes(body=[cst.Pass()])


def operator_drop_keyword(node: cst.Call) -> Iterable[cst.CSTNode]:
    """``f(a, dim=1)`` -> ``f(a)`` for each keyword argument (mutmut replaces it by None)"""
    for index, arg in enumerate(node.args):
        if arg.keyword is not None:
            rest = [*node.args[:index], *node.args[index + 1:]]
            if rest:
                rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            yield node.with_changes(args=rest)


COURSE_OPERATORS = [
    (cst.Call, operator_drop_receiver_call),
    (cst.Attribute, operator_swap_attribute),
    (cst.Call, operator_unwrap_call),
    (cst.SimpleStatementLine, operator_remove_statement),
    (cst.Call, operator_drop_keyword),
]
OPERATORS = [*mutmut_operators, *COURSE_OPERATORS]


@dataclass(frozen=True)
class Mutant:
    id: str  # "<answer cell>@<hash>", stable while the cell's code around it is unchanged
    cell_id: str
    source: str  # the mutated answer cell
    diff: str  # unified diff against the solution


def _solution_lines(cell_source: str) -> set[int]:
    """1-based line numbers, in the student's version of the cell, of the solution regions."""
    lines, inside, number = set(), False, 0
    for line in cell_source.splitlines():
        if notebooks.BEGIN_SOLUTION in line:
            inside = True
            continue
        if notebooks.END_SOLUTION in line:
            inside = False
            continue
        number += 1
        if inside:
            lines.add(number)
    return lines


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(self, lines: set[int]):
        self.lines, self.found = lines, []

    def on_visit(self, node: cst.CSTNode) -> bool:
        try:
            position = self.get_metadata(PositionProvider, node)
        except KeyError:
            return True
        if position.start.line in self.lines and position.end.line in self.lines and not self._in_raise(node):
            self.found.append(node)
        return True

    def _in_raise(self, node) -> bool:
        """Error messages are not contract: strings and numbers inside ``raise`` are left alone."""
        parent = node
        while parent is not None:
            if isinstance(parent, cst.Raise):
                return True
            parent = self.get_metadata(ParentNodeProvider, parent, None)
        return False


def mutants_of_cell(cell_id: str, cell_source: str) -> list[Mutant]:
    code = notebooks.solution_code(cell_source)
    try:
        wrapper = cst.MetadataWrapper(cst.parse_module(code))
    except cst.ParserSyntaxError:
        return []
    collector = _Collector(_solution_lines(cell_source))
    wrapper.visit(collector)
    module = wrapper.module
    found: dict[str, Mutant] = {}
    for node in collector.found:
        for node_type, operator in OPERATORS:
            if not isinstance(node, node_type):
                continue
            try:
                replacements = list(operator(node))
            except Exception:  # an operator that does not apply to this node shape
                continue
            for replacement in replacements:
                try:
                    mutated = module.deep_replace(node, replacement).code
                    compile(mutated, cell_id, "exec")
                except Exception:
                    continue
                if mutated == code:
                    continue
                diff = "".join(difflib.unified_diff((code + "\n").splitlines(True), (mutated + "\n").splitlines(True),
                                                    f"{cell_id} (solution)", f"{cell_id} (mutant)", n=1))
                changed = "".join(line for line in diff.splitlines(True)[2:] if line[:1] in "+-")
                digest = hashlib.sha1(changed.encode()).hexdigest()[:10]
                mutant_id = f"{cell_id}@{digest}"
                found.setdefault(mutant_id, Mutant(mutant_id, cell_id, mutated, diff))
    return list(found.values())


def load_equivalent(assignment: str) -> dict[str, str]:
    path = SOLUTIONS_DIR / assignment / "mutants.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.EQUIVALENT)


@dataclass
class MutationReport:
    assignment: str
    killed: list[Mutant]
    survived: list[Mutant]
    equivalent: list[tuple[Mutant, str]]
    stale_equivalences: list[str]  # recorded ids that no longer match a surviving mutant
    seconds: float

    @property
    def score(self) -> float:
        judged = len(self.killed) + len(self.survived)
        return len(self.killed) / judged if judged else 1.0

    def summary(self) -> str:
        return (f"{self.assignment}: mutation score {self.score:.1%} "
                f"({len(self.killed)} killed, {len(self.survived)} survived, "
                f"{len(self.equivalent)} equivalent under the contract) in {self.seconds:.0f} s")


def _chunks(items: list, parts: int) -> list[list]:
    size = max(1, math.ceil(len(items) / parts))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_mutants(assignment: str, jobs: int | None = None, limit: int | None = None,
                cell_timeout_s: float = 20, sandboxed: bool = True) -> MutationReport:
    import time

    start = time.perf_counter()
    folder = SOLUTIONS_DIR / assignment
    source_nb = notebooks.read(notebooks.notebook_path(folder))
    code_cells = [c for c in source_nb.cells if cell_kind(c)]
    as_job = [{"kind": cell_kind(c), "source": notebooks.solution_code(c.source) if notebooks.is_answer_cell(c)
               else c.source} for c in code_cells]
    # What nbgrader copies beside a graded notebook: never the instructor-only files.
    files = {name: data for name, data in folder_files(folder, exclude=set()).items()
             if not any(fnmatch.fnmatch(Path(name).name, pattern) for pattern in INSTRUCTOR_ONLY_FILES)}
    all_mutants: list[tuple[int, Mutant]] = []
    for index, cell in enumerate(code_cells):
        if notebooks.is_answer_cell(cell):
            all_mutants += [(index, mutant) for mutant in mutants_of_cell(notebooks.grade_id(cell), cell.source)]
    if limit:
        all_mutants = all_mutants[:limit]
    workers = max(1, jobs or os.cpu_count() or 1)
    batches: list[tuple[list[Mutant], VariantsJob]] = []
    for index in sorted({i for i, _ in all_mutants}):
        mutants = [mutant for i, mutant in all_mutants if i == index]
        for chunk in _chunks(mutants, workers):
            variants = [[{"kind": "code", "source": mutant.source}, *as_job[index + 1:]] for mutant in chunk]
            batches.append((chunk, VariantsJob(as_job[:index], variants, files)))
    killed, survived = [], []
    with Engine(jobs=workers, sandboxed=sandboxed, limits=Limits(cell_timeout_s=cell_timeout_s)) as engine:
        answers = engine.map([job for _, job in batches])
    for (chunk, _), answer in zip(batches, answers):
        if "prefix_failed" in answer or "error" in answer:
            raise RuntimeError(f"{assignment}: the solution itself failed before the mutated cell: {answer}")
        for mutant, verdict in zip(chunk, answer["verdicts"]):
            (killed if verdict["killed"] else survived).append(mutant)
    recorded = load_equivalent(assignment)
    equivalent = [(mutant, recorded[mutant.id]) for mutant in survived if mutant.id in recorded]
    survived = [mutant for mutant in survived if mutant.id not in recorded]
    surviving_ids = {mutant.id for mutant, _ in equivalent}
    stale = [mutant_id for mutant_id in recorded if mutant_id not in surviving_ids]
    return MutationReport(assignment, killed, survived, equivalent, stale, time.perf_counter() - start)
