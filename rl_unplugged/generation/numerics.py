"""The XLA CPU settings under which generation is reproducible: one thread, AVX2.

A learning level's bytes are only as reproducible as its agent's float arithmetic, and
XLA's CPU arithmetic depends on the machine in two ways (measured here, 2026-11-26,
jax 0.10.2):
- the size of XLA's intra-op thread pool, which XLA takes from the CPUs the process may
  use when its CPU backend starts. With two threads, Eigen splits a dot's contraction
  across them when the output is narrow (a (256, 256) x (256, 15) critic head), and
  YNNPACK splits reductions; the sums then run in another order. No XLA flag turns
  either off (`--xla_cpu_multi_thread_eigen=false` does not reach them);
- the vector ISA XLA compiles for (the host's). Capping it with `--xla_cpu_max_isa`
  changes sums' bits (SSE4.2 against AVX2 here); AVX2 gave the same bits as this
  AVX-512 host's default on the first 4,000 steps of HalfCheetah's D4PG.

So generation starts JAX's CPU backend with a one-thread pool and the ISA capped at
AVX2 (`configure`): a build's bytes then no longer depend on the core count, and equal
a one-core process's bytes of before (measured on HalfCheetah's first 4,000 steps; no
full recorded build was rebuilt under it). Hosts without AVX2 and FMA, and other CPU
architectures, still compute other bits; so do hosts with other vector features, through
YNNPACK (below). Other XLA flags a user sets are not
checked. The pool is sized once, when the backend starts, so `configure` must run
before the process's first JAX computation; a build made in a process whose backend
started otherwise is marked in its manifest (`generation.numerics`), so its digest can
never be mistaken for a canonical build's.

The pool stays one thread for the life of the process: a process that generates and
then trains (`rlu quickstart`, or a training command that builds its missing dataset
first) trains with one XLA thread too. That cost was not benchmarked: one back-to-back
timing of `rlu quickstart` on this 2-core machine took 16% longer
(`benchmarks/RESULTS.md`), and on many-core hosts it was not measured.

What the cap does not reach (measured 2026-11-26, jax 0.10.2, this AVX-512 host): XLA
hands some dots (the narrow critic head above) and reductions to YNNPACK, which picks
its kernels from the host's CPU features at run time (sse2, avx, fma3, avx2 and avx512
builds of its fp32 dot and sum kernels ship in jaxlib; the sum kernels' symbols name 4,
8 and 16 partial sums). A (256, 256) x (256, 15) dot and a row sum gave the same bits
under every cap from SSE4.2 to AVX-512, so YNNPACK ignored it; with YNNPACK's fusions
turned off (`--xla_cpu_experimental_ynn_fusion_type=`) they gave other bits, and so did
HalfCheetah's first 4,000 steps (steps shard `a928a814...` against `ec0f06aa...`). So a
host with other vector features (no AVX-512, say) gets other kernels whatever the cap,
and most likely other bits (not measured: no such host here). The same host does
reproduce itself: Hopper's noise0 run 0 rebuilt here three hours later gave the same
first three shards (75k transitions). Turning YNNPACK off would remove this dependence
but change the digest of every recorded build that a JAX computation touches (the 63
recorded builds hold 27M transitions); it was not done. Builds recorded from now on name
the machine they were recorded on and its features (`data.reference_builds.host`), and
`verify` names what differs.

Written here rather than taken from a library: neither JAX nor XLA exposes the CPU
pool's size; the affinity of the process when the backend starts is what sets it.
"""

from __future__ import annotations

import os
import threading
import warnings

# Appended to XLA_FLAGS (read once, when XLA first compiles in this process).
XLA_FLAGS = ("--xla_cpu_max_isa=AVX2",)
THREADS = 1
# Levels whose bytes no JAX computation touches (a uniform policy; episodes copied from
# other logs): never marked.
JAX_FREE_LEVELS = frozenset({"random", "medium_replay", "medium_expert"})

_state: dict[str, bool] = {"configured": False}
_lock = threading.Lock()  # Two threads configuring at once must not race the backend's start.


def _backend_started() -> bool:
    from jax._src import xla_bridge  # No public query; jax 0.4-0.10 all have it.

    return bool(xla_bridge.backends_are_initialized())


def _flags_set() -> bool:
    flags = os.environ.get("XLA_FLAGS", "").split()
    return all(f in flags for f in XLA_FLAGS)


def _threads() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")}


def _give_back(cpus: set[int], threads: set[int]) -> None:
    # sched_setaffinity(0) moves only the calling thread; the threads the backend started
    # (XLA's pool among them) were created on one CPU and must be let out too.
    for tid in {0, *threads}:
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError:  # A thread that has just exited (must not hide an error in flight).
            pass


def canonical() -> bool:
    """Whether this process's JAX CPU backend computes under the canonical settings:
    started by `configure`, or started while the process could use one CPU only with
    `XLA_FLAGS` holding `XLA_FLAGS` (e.g. under `taskset -c 0` with them exported)."""
    if _state["configured"]:
        return True
    if not hasattr(os, "sched_getaffinity"):
        return False
    return _flags_set() and len(os.sched_getaffinity(0)) == THREADS


def configure() -> bool:
    """Starts JAX's CPU backend under the canonical settings, if it has not started.

    Sets `XLA_FLAGS`, lets the process use one CPU while the backend starts (so XLA
    sizes its pool to one thread), then gives back every CPU it had: the environment
    and everything else in the process keep the machine's cores.

    Returns:
      True if this process computes canonically (now or already), False if its backend
      started before under other settings (the caller marks its build).
    """
    with _lock:
        if canonical():
            return True
        if _backend_started() or not hasattr(os, "sched_setaffinity"):
            return False
        os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""),
                                            *XLA_FLAGS]).strip()
        allowed, before = os.sched_getaffinity(0), _threads()
        os.sched_setaffinity(0, {min(allowed)})
        try:
            import jax

            jax.devices("cpu")  # Starts the CPU backend: its pool is sized now.
        except RuntimeError:  # No CPU backend (JAX_PLATFORMS without cpu): not canonical.
            return False
        finally:
            _give_back(allowed, _threads() - before)
        _state["configured"] = True
        return True


def marker() -> dict | None:
    """What a build's manifest records about its numerics: None when canonical (so a
    canonical build's manifest, and digest, are what they were before this module);
    otherwise why not, which also keeps a log from being resumed under other settings."""
    import jax

    canonical_cpu = configure()
    backend = jax.default_backend()
    if backend != "cpu":
        warnings.warn(f"generation runs on JAX's {backend} backend: its bits will not match "
                      f"builds made on the CPU", stacklevel=2)
        return {"canonical": False, "backend": backend}
    if canonical_cpu:
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    why = ("JAX's CPU backend started before generation" if hasattr(os, "sched_setaffinity")
           else "this platform cannot pin the process to one CPU")
    return {"canonical": False,
            "reason": f"{why}, with {cpus} CPU(s) usable now and XLA_FLAGS "
                      f"{os.environ.get('XLA_FLAGS', '')!r}"}


