import os
import subprocess
import sys

import pytest

from rl_unplugged import paths
from rl_unplugged.data.raw_log import read_manifest
from rl_unplugged.errors import IncompatibleError
from rl_unplugged.generation import generate, numerics
from tests.generation.helpers import tiny_spec
from tests.generation.test_resume import REPO, Crash

# A dot with a narrow output (Eigen splits its contraction over threads) and reductions
# (YNNPACK splits them): the ops whose bits depended on the core count.
_PROBE = """
import hashlib, os, sys
if sys.argv[1] == "one":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from rl_unplugged.generation import numerics
assert numerics.configure()
import jax, jax.numpy as jnp, numpy as np
r = np.random.default_rng(0)
a = jnp.asarray(r.normal(size=(256, 256)), jnp.float32)
b = jnp.asarray(r.normal(size=(256, 15)), jnp.float32)
out = [jax.jit(lambda a, b: a @ b)(a, b), jax.jit(lambda a: a.sum(0))(a), jax.jit(jnp.sum)(a)]
digest = hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in out)).hexdigest()
# Threads left on fewer CPUs than the process has (the backend's, if not given back).
held = sum(len(os.sched_getaffinity(int(t))) < len(os.sched_getaffinity(0))
           for t in os.listdir("/proc/self/task"))
print(digest, numerics.canonical(), len(os.sched_getaffinity(0)), held,
      repr(os.environ.get("XLA_FLAGS", "")))
"""


def _python(code: str, *args: str, xla_flags: str = "") -> str:
    """stdout of `code` in a fresh interpreter with these `XLA_FLAGS` (none by default)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags:
        env["XLA_FLAGS"] = xla_flags
    return subprocess.run([sys.executable, "-c", code, *args], env=dict(env, PYTHONPATH=str(REPO)),
                          cwd=REPO, capture_output=True, text=True, check=True).stdout


def _probe(cpus: str) -> list[str]:
    return _python(_PROBE, cpus).split()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_configured_numerics_do_not_depend_on_the_core_count():
    one, every = _probe("one"), _probe("every")
    assert one[0] == every[0]
    assert one[1] == every[1] == "True"
    # The process, and every thread the backend started, get their CPUs back.
    assert int(every[2]) == len(os.sched_getaffinity(0)) and one[2] == "1"
    assert every[3] == "0"
    assert every[4] == one[4] == "''"  # No flags added.


# The ops XLA hands YNNPACK (a narrow dot, a row sum), computed under an ISA cap.
_YNN_PROBE = """
import hashlib, jax, jax.numpy as jnp, numpy as np
r = np.random.default_rng(0)
a = jnp.asarray(r.normal(size=(256, 256)), jnp.float32)
b = jnp.asarray(r.normal(size=(256, 15)), jnp.float32)
f = jax.jit(lambda a, b: (a @ b, a.sum(1)))
out = f(a, b)
print(hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in out)).hexdigest(),
      f.lower(a, b).compile().as_text().count("__ynn_fusion"))
"""


def _ynn_probe(flags: str) -> list[str]:
    return _python(_YNN_PROBE, xla_flags=flags).split()


def test_the_isa_cap_does_not_reach_ynnpack():
    """What `numerics` documents: XLA hands these ops to YNNPACK (none with its fusions
    off), whose kernels follow the host, not the cap: the same bits under SSE4.2 and AVX2.
    If this fails, `numerics`' account is stale."""
    sse, avx2 = (_ynn_probe(f"--xla_cpu_max_isa={isa}") for isa in ("SSE4_2", "AVX2"))
    off = _ynn_probe("--xla_cpu_max_isa=AVX2 --xla_cpu_experimental_ynn_fusion_type=")
    assert int(avx2[1]) >= 2 and off[1] == "0"  # Both ops in YNNPACK; none with it off.
    assert sse == avx2


def test_xla_cpu_flags_make_a_process_non_canonical():
    """A cap on the ISA changed Hopper's bits from its first update: a process that sets
    any XLA CPU compiler flag computes other bits, so its builds are marked."""
    probe = ("from rl_unplugged.generation import numerics\n"
             "print(numerics.configure(), numerics.canonical(), numerics.marker()['reason'])")
    out = _python(probe, xla_flags="--xla_cpu_max_isa=AVX2")
    assert out.startswith("False False XLA_FLAGS set XLA CPU compiler flags "
                          "['--xla_cpu_max_isa=AVX2']")


def test_this_test_process_is_canonical():
    assert numerics.canonical() and numerics.configure() and numerics.marker() is None


_ELSEWHERE = {"canonical": False, "reason": "started elsewhere (test)"}


def test_a_build_in_a_non_canonical_process_is_marked_and_reads_anywhere(tmp_path, monkeypatch):
    spec = tiny_spec("replay", noise=0.1, num_steps=300)
    monkeypatch.setattr(numerics, "marker", lambda: _ELSEWHERE)
    marked = generate(spec, tmp_path)
    assert marked.manifest["generation"]["numerics"] == _ELSEWHERE
    # A level no JAX computation touches is never marked.
    uniform = generate(tiny_spec("random", num_steps=300), tmp_path)
    assert "numerics" not in uniform.manifest["generation"]
    monkeypatch.undo()
    # A complete log is read whatever the reader's settings, and left as it was.
    before = (paths.raw_dir(spec, tmp_path) / "manifest.json").read_bytes()
    assert generate(spec, tmp_path).num_transitions == marked.num_transitions
    assert (paths.raw_dir(spec, tmp_path) / "manifest.json").read_bytes() == before
    # A canonical build's manifest has no mark (so recorded digests stay valid).
    assert "numerics" not in generate(spec, tmp_path / "canonical").manifest["generation"]


@pytest.mark.parametrize("began_canonical", [True, False])
def test_a_log_resumes_only_under_the_numerics_it_began_with(tmp_path, monkeypatch,
                                                             began_canonical):
    spec = tiny_spec("replay", noise=0.1, num_steps=600)
    done = []

    def crash(n):
        done.append(n)
        if sum(done) > 250:
            raise Crash

    if not began_canonical:
        monkeypatch.setattr(numerics, "marker", lambda: _ELSEWHERE)
    with pytest.raises(Crash):
        generate(spec, tmp_path, progress=crash, shard_transitions=100)
    assert not read_manifest(paths.raw_dir(spec, tmp_path))["complete"]
    if began_canonical:
        monkeypatch.setattr(numerics, "marker", lambda: _ELSEWHERE)
    else:
        monkeypatch.undo()
    advice = "fresh process" if began_canonical else "only be resumed under the settings"
    with pytest.raises(IncompatibleError, match=f"other numerics(.|\n)*{advice}"):
        generate(spec, tmp_path, shard_transitions=100)
    # Under the settings it began with, it resumes.
    if began_canonical:
        monkeypatch.undo()
    else:
        monkeypatch.setattr(numerics, "marker", lambda: _ELSEWHERE)
    assert generate(spec, tmp_path, shard_transitions=100).manifest["complete"]
