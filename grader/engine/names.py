"""Keep a hidden-test cell's own names apart from the names a student's code uses.

A hidden-test cell runs in the notebook's namespace, which is also the globals of every function
the student wrote. If the cell defines a helper that the student happened to name the same way
(``_counts``, ``_ranked``), the student's functions would call the test's helper while the cell
runs, and correct work would lose points with a baffling message. So, before such a cell runs,
every name it binds at module level that a student cell also bound is renamed in the cell's code
to a private alias (which starts as the student's value, so the test reads what it read before);
the student's functions keep seeing their own objects. The executor removes the aliases
afterwards, with the rest of what the cell defined.
"""
import ast

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound_in(statements_or_node) -> tuple[set[str], set[str]]:
    """Names bound in one scope (not in scopes nested in it), and the names it declares global."""
    bound, declared_global = set(), set()
    pending = list(statements_or_node) if isinstance(statements_or_node, list) else [statements_or_node]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)  # its body is another scope; its decorators and defaults are this one's
            pending.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                pending.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            else:
                pending.extend(node.bases + [k.value for k in node.keywords])
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            bound.update(node.names)  # an enclosing function's local, not a module name
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        pending.extend(ast.iter_child_nodes(node))
    return bound - declared_global, declared_global


def module_bindings(tree: ast.Module) -> set[str]:
    """The names a cell binds in the notebook's namespace."""
    return _bound_in(tree.body)[0]


def _arguments(args: ast.arguments) -> set[str]:
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return {a.arg for a in every}


class _Scope:
    def __init__(self, local: set[str], declared_global: set[str], is_class: bool = False):
        self.local, self.declared_global, self.is_class = local, declared_global, is_class


class _Renamer(ast.NodeTransformer):
    def __init__(self, aliases: dict[str, str]):
        self.aliases = aliases
        self.scopes: list[_Scope] = []  # innermost last; empty at module level

    def _is_module_name(self, name: str) -> bool:
        for depth, scope in enumerate(reversed(self.scopes)):
            if scope.is_class and depth > 0:
                continue  # functions nested in a class body do not see its names
            if name in scope.declared_global:
                return True
            if name in scope.local:
                return False
        return True

    def _rename(self, name: str) -> str:
        return self.aliases[name] if name in self.aliases and self._is_module_name(name) else name

    def visit_Name(self, node: ast.Name):
        node.id = self._rename(node.id)
        return node

    def visit_Global(self, node: ast.Global):
        node.names = [self.aliases.get(name, name) for name in node.names]
        return node

    def visit_alias(self, node: ast.alias):
        if not self.scopes:
            name = node.asname or node.name
            if name in self.aliases and (node.asname or "." not in node.name):
                node.asname = self.aliases[name]
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler):
        if node.name:
            node.name = self._rename(node.name)
        self.generic_visit(node)
        return node

    def _function(self, node):
        # Decorators and defaults belong to the enclosing scope; the body to its own.
        if not isinstance(node, ast.Lambda):
            node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [self.visit(d) if d is not None else None for d in node.args.kw_defaults]
        if not isinstance(node, ast.Lambda):
            node.name = self._rename(node.name)
        body = node.body if isinstance(node.body, list) else [node.body]
        local, declared_global = _bound_in(body)
        self.scopes.append(_Scope(local | _arguments(node.args), declared_global))
        if isinstance(node.body, list):
            node.body = [self.visit(statement) for statement in node.body]
        else:
            node.body = self.visit(node.body)
        self.scopes.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node: ast.ClassDef):
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        node.name = self._rename(node.name)
        local, declared_global = _bound_in(node.body)
        self.scopes.append(_Scope(local, declared_global, is_class=True))
        node.body = [self.visit(statement) for statement in node.body]
        self.scopes.pop()
        return node

    def _comprehension(self, node):
        targets = set()
        for generator in node.generators:
            targets |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
        self.scopes.append(_Scope(targets, set()))
        self.generic_visit(node)
        self.scopes.pop()
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def keep_apart(tree: ast.Module, student_names: set[str], token: str) -> dict[str, str]:
    """Rename, in a hidden-test cell's tree, the module-level names that student cells also bound.

    Returns {name: alias}. The caller gives each alias the value the notebook holds for its name
    (when it holds one) before the cell runs, so the cell reads what it would have read; what the
    cell binds never reaches the student's functions.
    """
    clashing = sorted(module_bindings(tree) & student_names)
    if not clashing:
        return {}
    aliases = {name: f"_hidden_{name}_{token}" for name in clashing}
    _Renamer(aliases).visit(tree)
    ast.fix_missing_locations(tree)
    return aliases
