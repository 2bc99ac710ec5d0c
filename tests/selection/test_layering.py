"""selection/ sits at the leaderboard's layer: only the orchestration layer imports it."""

import ast
from pathlib import Path

import rl_unplugged

PACKAGE = Path(rl_unplugged.__file__).parent
ALLOWED = {"cli", "__init__.py", "baselines.py", "selection"}


def test_nothing_below_the_orchestration_layer_imports_selection():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            names += [f"{node.module}.{a.name}" for a in getattr(node, "names", [])
                      if isinstance(node, ast.ImportFrom) and node.module == "rl_unplugged"]
            if any(n.startswith("rl_unplugged.selection") for n in names):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders


def test_selection_imports_nothing_above_it():
    for path in (PACKAGE / "selection").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("rl_unplugged.cli", "rl_unplugged.leaderboard",
                                                   "rl_unplugged.baselines")), path
