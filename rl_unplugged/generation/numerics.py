"""The XLA CPU settings under which generation is reproducible: one thread, no CPU flags.

A learning level's bytes are only as reproducible as its agent's float arithmetic, and
XLA's CPU arithmetic depends on the process and the machine (measured here, 2026-11-26,
jax 0.10.2, 2-core x86_64 with AVX-512):
- the size of XLA's intra-op thread pool, which XLA takes from the CPUs the process may
  use when its CPU backend starts. With two threads, Eigen splits a dot's contraction
  across them when the output is narrow (a (256, 256) x (256, 15) critic head), and
  YNNPACK splits reductions; the sums then run in another order. No XLA flag turns
  either off (`--xla_cpu_multi_thread_eigen=false` does not reach them);
- XLA's CPU compiler flags. Capping the ISA XLA compiles for (`--xla_cpu_max_isa`)
  changes sums' bits: SSE4.2 against AVX2 on elementwise ops, and AVX2 against this
  host's AVX-512 on Hopper's D4PG from its first update (row 1,040 of the log), though
  not on HalfCheetah's first 4,000 steps;
- the host's CPU features, through YNNPACK, to which XLA hands some dots (the narrow
  critic head) and reductions. YNNPACK picks its kernels from the CPU's features at run
  time (sse2, avx, fma3, avx2 and avx512 builds of its fp32 dot and sum kernels ship in
  jaxlib; the sum kernels' symbols name 4, 8 and 16 partial sums), and no XLA flag
  reaches that choice: the dot and a row sum gave the same bits under every ISA cap
  from SSE4.2 to AVX-512. A host with other vector features (no AVX-512, say) so gets
  other kernels and most likely other bits (not measured: no such host here).

So generation starts JAX's CPU backend with a one-thread pool (`configure`), and a
process whose `XLA_FLAGS` set any XLA CPU compiler flag (`--xla_cpu_...`) is not
canonical: its builds are marked. A build's bytes then depend neither on the core count
nor on flags, and equal a one-core process's bytes of before: every recorded build was
made without flags, most on one core. What remains is the host. The same machine
rebuilds its own bytes, and two machines of the same kind agree: Hopper's 500k-step
noise0 run 0 built here under these settings has the digest of the one-core rebuild made
on another machine on 2026-11-25 (`2bffa5c8b652eb7f`). But no setting here reproduced
Hopper's recorded build (the mean return of its first tenth of transitions is 229.3
recorded; 257.2 here on one thread, 264.8 on two, 259.4 on one thread under the AVX2
cap), and the code is not the cause (the recorded build's code and today's give
identical bytes under the same settings: Hopper's first 50,202 transitions, two shards,
about 49,000 updates). Builds recorded from now on name their machine
(`data.reference_builds.host`), and `verify` names what differs.

From 2026-11-26 15:19 to about 21:00 UTC the canonical settings also capped the ISA at
AVX2 (believed harmless from HalfCheetah's 4,000 steps, which it did not change); builds
made then carry no mark, and a log begun then and resumed now would mix settings. None
was recorded. Without the cap, `rlu datasets build` on this 2-core machine gives the
one-core bytes of the recorded build's code on Hopper's first two shards, and
HalfCheetah's first 4,000 steps are unchanged (`ec0f06aa...`).

The pool is sized once, when the backend starts, so `configure` must run before the
process's first JAX computation; a build made in a process whose backend started
otherwise is marked in its manifest (`generation.numerics`), so its digest can never be
mistaken for a canonical build's.

The pool stays one thread for the life of the process: a process that generates and
then trains (`rlu quickstart`, or a training command that builds its missing dataset
first) trains with one XLA thread too. That cost was not benchmarked: one back-to-back
timing of `rlu quickstart` on this 2-core machine took 16% longer
(`benchmarks/RESULTS.md`), and on many-core hosts it was not measured.

Written here rather than taken from a library: neither JAX nor XLA exposes the CPU
pool's size; the affinity of the process when the backend starts is what sets it.
"""

from __future__ import annotations

import os
import threading
import warnings

# XLA's CPU compiler flags (`XLA_FLAGS`, read once, when XLA first compiles in this
# process): any of them may change bits, so a process that sets one is not canonical.
CPU_FLAG_PREFIX = "--xla_cpu_"
THREADS = 1
# Levels whose bytes no JAX computation touches (a uniform policy; episodes copied from
# other logs): never marked.
JAX_FREE_LEVELS = frozenset({"random", "medium_replay", "medium_expert"})

_state: dict[str, bool] = {"configured": False}
_lock = threading.Lock()  # Two threads configuring at once must not race the backend's start.


def _backend_started() -> bool:
    from jax._src import xla_bridge  # No public query; jax 0.4-0.10 all have it.

    return bool(xla_bridge.backends_are_initialized())


def cpu_flags() -> list[str]:
    """The XLA CPU compiler flags this process's `XLA_FLAGS` set."""
    return [f for f in os.environ.get("XLA_FLAGS", "").split() if f.startswith(CPU_FLAG_PREFIX)]


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
    """Whether this process's JAX CPU backend computes under the canonical settings: no
    XLA CPU compiler flags, and started by `configure` or while the process could use one
    CPU only (e.g. under `taskset -c 0`)."""
    if cpu_flags():
        return False
    if _state["configured"]:
        return True
    if not hasattr(os, "sched_getaffinity"):
        return False
    return len(os.sched_getaffinity(0)) == THREADS


def configure() -> bool:
    """Starts JAX's CPU backend under the canonical settings, if it has not started.

    Lets the process use one CPU while the backend starts (so XLA sizes its pool to one
    thread), then gives back every CPU it had: the environment and everything else in
    the process keep the machine's cores.

    Returns:
      True if this process computes canonically (now or already), False if its backend
      started before under other settings, or its `XLA_FLAGS` set XLA CPU compiler
      flags (the caller marks its build).
    """
    with _lock:
        if canonical():
            return True
        if cpu_flags() or _backend_started() or not hasattr(os, "sched_setaffinity"):
            return False
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
    flags = cpu_flags()
    if flags:
        why = f"XLA_FLAGS set XLA CPU compiler flags {flags}"
    elif hasattr(os, "sched_setaffinity"):
        why = "JAX's CPU backend started before generation"
    else:
        why = "this platform cannot pin the process to one CPU"
    return {"canonical": False,
            "reason": f"{why}, with {cpus} CPU(s) usable now and XLA_FLAGS "
                      f"{os.environ.get('XLA_FLAGS', '')!r}"}


