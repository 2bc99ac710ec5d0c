"""Known dependency traps, checked in one place.

- mujoco 4 breaks dm-control 1.0.50 ('MjModel' has no attribute 'flex_vertedge'):
  mujoco must stay 3.x. Downgrading leaves `mujoco-core`/`mujoco-studio` behind.
- rlds 0.1.7+ imports dm-reverb, which fails on TF > 2.15: see data/rlds_compat.py.
- rliable 1.2 needs arch<8; arch 7.2 breaks on pandas 3: pandas must stay 2.x.
"""

from __future__ import annotations

import importlib.metadata as md

# package -> (required major version, why); checked by `check()`.
PINNED_MAJOR = {
    "mujoco": (3, "dm-control 1.0.50 fails with mujoco 4 (MjModel.flex_vertedge)"),
    "pandas": (2, "rliable 1.2 needs arch<8, and arch 7.2 breaks on pandas 3"),
}


def installed_version(package: str) -> str | None:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return None


def check() -> list[str]:
    """Problems with installed versions of pinned packages (empty when all is well)."""
    problems = []
    for package, (major, why) in PINNED_MAJOR.items():
        version = installed_version(package)
        if version is not None and int(version.split(".")[0]) != major:
            problems.append(f"{package} {version} installed, {major}.x required: {why}. "
                            f"Reinstall with `pip install -e .` (see setup.py pins).")
    for leftover in ("mujoco-core", "mujoco-studio"):
        if installed_version(leftover) is not None:
            problems.append(f"{leftover} (from mujoco 4) is still installed beside mujoco 3; "
                            f"`pip uninstall {leftover}`")
    return problems


def versions() -> dict[str, str | None]:
    """Versions recorded in results files (reproducibility)."""
    import rl_unplugged

    names = ("jax", "flax", "optax", "numpy", "tensorflow", "tensorflow-datasets", "rlds",
             "gymnasium", "bsuite", "MinAtar", "mujoco", "dm-control", "rliable")
    return {"rl_unplugged": rl_unplugged.__version__, **{n: installed_version(n) for n in names}}
