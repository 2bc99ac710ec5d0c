"""Checksums of reference builds: the raw-log manifest digest of datasets built here.

Generation is a pure function of a dataset's spec, and a raw log's `manifest.json` (no
timestamps) lists every shard's SHA-256, so one digest fingerprints a whole build. Pure
up to floating point: a level whose agent learns while it logs (replay levels, and the
levels made from their checkpoints) diverges over a long run when XLA sums in another
order, and what XLA's sums are depends on the process and the machine
(`generation.numerics` has the measurements):
- the thread count (the CPU cores the process may use): 4,000 steps of fish_swim's D4PG
  with one core and with two differed from episode 2 on. Generation now computes with
  one XLA thread whatever the core count. Most recorded builds were made pinned to one
  core; fish_swim's noise0 run 0's core count was not recorded, and its 500k-step
  rebuild on one core did not reproduce its digest;
- XLA CPU compiler flags: none is set for a canonical build. An ISA cap at AVX2, part of
  the canonical settings for some hours on 2026-11-26, changed Hopper's bits from the
  D4PG's first update and was removed; no recorded build was made under it;
- the machine: the same machine rebuilds its own bytes (Hopper's noise0 run 0 rebuilt
  three hours later: the same first three shards, 75k transitions), and a 1M-step
  one-core rebuild of MinAtar breakout's noise0 run 0 matched its digest (on which
  machine was not recorded). But HalfCheetah's and Walker2d's noise0 run 0, built on one
  pinned core, were rebuilt on one pinned core on 2026-11-25 on another machine of the
  same kind and differ, HalfCheetah's already in the first tenth of its transitions
  (mean return -98.7 recorded, 392.1 rebuilt); and on the 2-core AVX-512 machine of
  2026-11-26 no setting reproduced Hopper's recorded build (first tenth 229.3 recorded;
  257.2 with one thread, 264.8 with two, 259.4 with one under the AVX2 cap). Yet its
  full 500k-step noise0 run 0 built there under the canonical settings has the digest of
  the 2026-11-25 one-core rebuild made on the other machine (`2bffa5c8b652eb7f`): two
  machines of the same kind agree over a whole learning run, and the machine the
  recorded builds were made on computed otherwise. The code is not the cause: the
  recorded build's code (`f843b29`) and today's give identical bytes under the same
  settings (Hopper's first 50,202 transitions, two shards). One part that follows the
  machine was found: YNNPACK, to which XLA hands some dots and reductions, picks its
  kernels by the host's CPU features. Whether the recording machines' features differed
  is not known: no build recorded before 2026-11-27 names its machine. `record` stores
  `recorded_on` (`host()`: CPU model, the features YNNPACK dispatches on, jaxlib's
  version) and `verify` names what differs between that machine and the local one.

rlu_mujoco's 15 builds were re-recorded on 2026-11-27 from builds made under the
canonical settings on the 2-core AVX-512 machine (their `recorded_on`). Each task's
500k-step noise0 run 0 there has the digest of its one-core rebuild made on 2026-11-25
on another machine of that kind (Hopper `2bffa5c8`, HalfCheetah `665f4efc`, Walker2d
`8682e0e4`): two machines of that kind made the same runs. The builds they replace,
recorded without a machine, are named in `datasets/behaviour_competence.md`. Every other
builder's builds (rlu_control's continuous ones among them) are still the ones recorded
without a machine.

`verify` compares a local build against the recorded one; the dataset cards render
the table. Record new builds with `record(data_dir)`.
"""

from __future__ import annotations

import json
import os
import platform
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from rl_unplugged import fileio, paths, registry
from rl_unplugged.data import summary
from rl_unplugged.data.raw_log import (
    MANIFEST,
    RawLog,
    manifest_digest,
    numerics_mark,
    read_manifest,
)
from rl_unplugged.errors import IncompatibleError

FILE = "reference_builds.json"
CPUINFO = "/proc/cpuinfo"  # Where Linux lists the CPU's model and flags.
# The CPU features YNNPACK, which XLA:CPU hands some dots and reductions to, chooses its
# fp32 kernels by at run time (`generation.numerics`), as /proc/cpuinfo names them.
KERNEL_FEATURES = ("sse2", "avx", "fma", "avx2", "f16c", "avx512f", "avx512bw", "avx512vl")


def _package_file() -> Path:
    return Path(str(resources.files("rl_unplugged.data").joinpath(FILE)))


def load() -> dict[str, dict[str, Any]]:
    """{dataset name: {manifest_sha256, num_episodes, num_transitions, ...}}."""
    path = _package_file()
    return json.loads(path.read_text())["builds"] if path.exists() else {}


def describe(raw_dir: str | os.PathLike) -> dict[str, Any]:
    """The fingerprint of one complete, verified raw log, with its logged returns:
    overall mean, first and last 10% of episodes, and the learning curve (mean return
    per tenth of the log's transitions, `summary.learning_curve`)."""
    log = RawLog(raw_dir)
    m = log.manifest
    episodes = log.episodes_table()
    first, last = summary.tail_means(episodes)
    return {"manifest_sha256": manifest_digest(log.directory),
            "generator_version": m["generation"].get("generator_version"),
            "num_episodes": m["num_episodes"], "num_transitions": m["num_transitions"],
            "episode_return_mean": m["summary"].get("episode_return_mean"),
            "first10_mean": first, "last10_mean": last,
            "curve": summary.learning_curve(episodes)}


def host() -> dict:
    """The machine's part in a build's bits beyond the canonical settings: its
    architecture, CPU model and which `KERNEL_FEATURES` it has (None where /proc/cpuinfo
    is missing or lists no x86 flags), and jaxlib's version (which fixes YNNPACK's
    kernels)."""
    info: dict[str, str] = {}
    try:
        with open(CPUINFO) as f:  # The first processor's entry is enough.
            for line in f:
                key, _, value = line.partition(":")
                if not key.strip():
                    break
                info.setdefault(key.strip(), value.strip())
    except OSError:  # Not Linux.
        pass
    flags = set(info["flags"].split()) if "flags" in info else None
    return {"machine": platform.machine(), "cpu": info.get("model name"),
            "kernel_features": None if flags is None else
            [f for f in KERNEL_FEATURES if f in flags],
            "jaxlib": metadata.version("jaxlib")}


def record(data_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
           merge: bool = True, competence: dict[str, dict[str, Any]] | None = None) -> dict:
    """Records every complete registered raw log under `data_dir`.

    Args:
      data_dir: the data root holding the builds.
      out: output file (default: the package-data file).
      merge: keep recorded builds not found under `data_dir`; False starts afresh
        (after a generator change, old digests no longer describe anything buildable).
      competence: {dataset name: record} of the behaviour run's measured competence
        (the CLI passes the expert references' behaviour-run candidates); stored with
        the build. Without one, a re-recorded build whose digest is unchanged keeps its
        recorded competence; a changed build loses it (it described the old one).

    Each build also gets `recorded_on`, this machine's `host()`: builds are recorded
    where they were made (`rlu datasets record` reads the local data root). A build
    whose digest is unchanged keeps the machine it was first recorded on.
    """
    builds = load() if merge else {}
    competence = dict(competence or {})
    here = host()
    for spec in registry.datasets():
        raw = paths.raw_dir(spec, data_dir)
        if (raw / MANIFEST).exists() and RawLog(raw, require_complete=False).manifest["complete"]:
            before = builds.get(spec.name) or {}
            builds[spec.name] = describe(raw)
            same = before.get("manifest_sha256") == builds[spec.name]["manifest_sha256"]
            # The same build keeps the machine it was first recorded on.
            builds[spec.name]["recorded_on"] = (before.get("recorded_on") if same else None
                                                ) or here
            if spec.name in competence:
                _check_competence(spec.name, competence[spec.name],
                                  builds[spec.name]["manifest_sha256"])
                builds[spec.name]["competence"] = competence.pop(spec.name)
            elif "competence" in before and same:
                # The same build: its recorded measurement still describes it.
                builds[spec.name]["competence"] = before["competence"]
    if competence:
        raise ValueError(f"competence given for datasets not built under {data_dir}: "
                         f"{sorted(competence)}")
    doc = {"note": "raw-log manifest digests of builds made with this package version; "
                   "rebuild with `rlu datasets build NAME` and compare with "
                   "`rlu datasets verify NAME`", "builds": dict(sorted(builds.items()))}
    fileio.write_json(out or _package_file(), doc, sort_keys=False)
    return doc


def local_digest(name: str, data_dir: str | os.PathLike | None = None) -> str | None:
    """The manifest sha256 of dataset `name`'s complete raw log under `data_dir`: which
    bytes a run trained on (a rebuilt learning run is other data under the same name);
    None where there is no complete raw log (an imported dataset, a store without one)."""
    raw = paths.raw_dir(registry.get_dataset(name), data_dir)
    manifest = read_manifest(raw)
    if not manifest or not manifest.get("complete"):
        return None
    return manifest_digest(raw)


_MEASURED_ON = re.compile(r"raw-log manifest sha256 ([0-9a-f]{8,64})")


def measured_elsewhere(competence: dict[str, Any], digest: str) -> str | None:
    """The raw-log manifest sha256 (a prefix) of the run a competence was measured on,
    as its `how` names it (`evaluation.references`), where that is not the build
    `digest`; None where it is, or where the `how` names no run."""
    match = _MEASURED_ON.search(str(competence.get("how", "")))
    return match[1] if match and not digest.startswith(match[1]) else None


def _check_competence(name: str, competence: dict[str, Any], digest: str) -> None:
    """Refuses a competence measured on another build than the one recorded.

    Raises:
      IncompatibleError: names both digests.
    """
    measured = measured_elsewhere(competence, digest)
    if measured is not None:
        raise IncompatibleError(f"{name}: the competence given was measured on build "
                                f"{measured}, not on the build being recorded ({digest[:16]})")


def build_status(name: str, digest: str) -> str:
    """Says whether a raw log of dataset `name` (its manifest's sha256) is the recorded
    build: a learning run rebuilt here need not reproduce its recorded bytes (module
    docstring)."""
    recorded = (load().get(name) or {}).get("manifest_sha256")
    if recorded is None:
        return "no recorded build of this dataset to compare"
    if recorded == digest:
        return "the dataset's recorded build"
    return f"a rebuild, not the dataset's recorded build (sha256 {recorded[:16]})"


def build_note(name: str, digest: str) -> str:
    """`build_status` as a clause for provenance text (an expert reference's `how`)."""
    return "; " + build_status(name, digest)


def verify(name: str, data_dir: str | os.PathLike | None = None) -> tuple[bool, str]:
    """(matches, message): compares a local build of `name` with the recorded one."""
    spec = registry.get_dataset(name)
    reference = load().get(spec.name)
    if reference is None:
        return False, f"no reference build recorded for {spec.name}"
    raw = paths.raw_dir(spec, data_dir)
    local = describe(raw)
    if local["manifest_sha256"] == reference["manifest_sha256"]:
        return True, (f"{spec.name}: identical to the reference build ("
                      f"{local['manifest_sha256'][:16]}, {local['num_transitions']:,} transitions)")
    mark = numerics_mark((read_manifest(raw) or {}).get("generation", {}))
    if mark:
        why = (f"it was not generated under the canonical numerics ({mark.get('reason', mark)}; "
               "rl_unplugged/generation/numerics.py): the mark alone changes its digest, and "
               "its floats may differ")
    else:
        why = ("a level that learns while it logs can differ on another kind of machine "
               "(XLA's YNNPACK kernels follow the host's CPU features, "
               "rl_unplugged/generation/numerics.py; rl_unplugged/data/reference_builds.py "
               f"has the measurements); {_host_difference(reference.get('recorded_on'), host())}")
    return False, (f"{spec.name}: differs from the reference build (local "
                   f"{local['manifest_sha256'][:16]}, {local['num_transitions']:,} transitions; "
                   f"reference {reference['manifest_sha256'][:16]}, "
                   f"{reference['num_transitions']:,}): {why}")


def _host_difference(recorded: dict | None, here: dict) -> str:
    """Which of `host()`'s entries differ between the recording machine and this one."""
    if recorded is None:
        return "the machine it was recorded on was not recorded"
    differ = [f"{k} {recorded.get(k)} there, {here.get(k)} here" for k in here
              if recorded.get(k) != here.get(k)]
    if not differ:
        return ("this machine has the recording machine's CPU features and jaxlib, so look at "
                "how the local build was made: another package version, or the code of "
                "2026-11-26 15:19-20:53 UTC, whose canonical settings capped the ISA at AVX2 "
                "without marking the build")
    return "this machine differs from the recording machine: " + "; ".join(differ)
