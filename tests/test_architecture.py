"""The package's layering: no import cycles between its parts, none hidden in functions.

Every `import` in the package, at module level or inside a function, is read with `ast`;
parts are the first name under `rl_unplugged` (`data`, `generation`, `evaluation`, ...).
The orchestration layers (`cli`, the package root, `baselines`) may import anything and
are imported by nothing else.
"""

import ast
from pathlib import Path

import rl_unplugged

PACKAGE = Path(rl_unplugged.__file__).parent
TOP = {"cli", "__init__", "baselines", "__main__"}


def _part(module: str) -> str | None:
    names = module.split(".")
    return names[1].removesuffix(".py") if names[0] == "rl_unplugged" and len(names) > 1 else None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        src = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                           if node.module == "rl_unplugged"]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                dst = _part(target) if target != "rl_unplugged" else None
                if dst and dst != src and (PACKAGE / dst).exists() or (
                        dst and (PACKAGE / f"{dst}.py").exists() and dst != src):
                    graph.setdefault(src, set()).add(dst)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_between_parts():
    graph = {k: v - TOP for k, v in _graph().items() if k not in TOP}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def test_nothing_imports_the_orchestration_layers():
    offenders = {k: sorted(v & TOP) for k, v in _graph().items() if k not in TOP and v & TOP}
    assert not offenders, offenders


def test_the_cycle_finder_finds_cycles():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_data_layer_depends_on_no_learner_or_evaluation_code():
    assert not _graph().get("data", set()) & {"generation", "training", "agents", "evaluation",
                                               "leaderboard", "cli"}
