"""The update contract every learner meets, discrete or continuous (one copy for both tests)."""

import jax
import numpy as np
from flax import serialization


def check_update_contract(learner, batch, *, params_atol: float, loss_rtol: float):
    """Three jitted updates move every parameter with finite metrics; jit and no-jit
    agree (within `params_atol` / `loss_rtol`); the state survives a checkpoint round trip.

    Returns:
      (initial state, state after three updates).
    """
    state = learner.init(jax.random.PRNGKey(0), learner.config.traced())
    update = jax.jit(learner.update)
    new = state
    for _ in range(3):
        new, metrics = update(new, batch)
    assert int(new.step) == 3
    assert all(np.isfinite(np.asarray(v)).all() for v in metrics.values()), metrics
    assert {"loss", "grad_norm"} <= set(metrics)
    changed = jax.tree.map(lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))),
                           state.params, new.params)
    assert all(jax.tree.leaves(changed)), changed

    jitted, m_jit = update(state, batch)
    with jax.disable_jit():
        plain, m_plain = learner.update(state, batch)
    for a, b in zip(jax.tree.leaves(jitted.params), jax.tree.leaves(plain.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=params_atol)
    np.testing.assert_allclose(m_jit["loss"], m_plain["loss"], rtol=loss_rtol)

    restored = serialization.from_bytes(state, serialization.to_bytes(new))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(restored), strict=True):
        np.testing.assert_array_equal(a, b)
    return state, new
