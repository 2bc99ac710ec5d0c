"""Ensembles: members, their hparams and keys, and the one-member form of the update."""

import jax
import numpy as np

from rl_unplugged import registry, training
from rl_unplugged.training import ensemble, loop
from tests.training.helpers import random_transitions

TASK = registry.get_task("classic/cartpole")
CONFIG = {"hidden": (16, 16), "batch_size": 8, "target_update_period": 3}


def _batched_dots(jaxpr) -> int:
    """dot_generals with batch dimensions (what vmap makes of a matmul), sub-jaxprs included."""
    count = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (_, (batch_lhs, _)) = eqn.params["dimension_numbers"]
            count += bool(batch_lhs)
        for sub in jax.core.jaxprs_in_params(eqn.params):
            count += _batched_dots(sub)
    return count


def test_map_members_is_vmap_and_its_single_form_agrees():
    x = np.arange(12.0, dtype=np.float32).reshape(1, 3, 4)
    w = np.ones((1, 4, 2), np.float32)
    fn = lambda a, b: {"y": a @ b, "s": a.sum()}
    vmapped = ensemble.map_members(fn, single=False)(x, w)
    single = ensemble.map_members(fn, single=True)(x, w)
    for k in ("y", "s"):
        assert single[k].shape == vmapped[k].shape
        np.testing.assert_allclose(single[k], vmapped[k])


def test_one_member_runs_the_update_unbatched_and_matches_the_vmapped_run():
    data = random_transitions(TASK)
    plan = training.Plan.make("dqn", TASK, steps=4, config=CONFIG, seeds=(0,), log_every=2)
    learner = plan.learner
    states = jax.vmap(learner.init)(ensemble.member_keys(plan.members, 0),
                                    ensemble.stacked_hparams(plan.members))
    keys = ensemble.member_keys(plan.members, 1)
    batch = loop.to_batch(data, TASK)
    jaxprs = {single: jax.make_jaxpr(loop._chunk_fn(learner, 2, single=single))(
        states, keys, batch).jaxpr for single in (False, True)}
    assert _batched_dots(jaxprs[False]) > 0  # The vmapped form batches its matmuls.
    assert _batched_dots(jaxprs[True]) == 0
    out = {single: loop._chunk_fn(learner, 2, single=single)(states, keys, batch)
           for single in (False, True)}
    for a, b in zip(jax.tree.leaves(out[False]), jax.tree.leaves(out[True]), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_picks_the_form_by_the_runs_member_count(monkeypatch):
    data = random_transitions(TASK)
    seen, real = [], loop._chunk_fn

    def recording(learner, length, mesh=None, *, single=False):
        seen.append(single)
        return real(learner, length, mesh, single=single)

    monkeypatch.setattr(loop, "_chunk_fn", recording)
    for seeds in ((0,), (0, 1)):
        training.fit(training.Plan.make("dqn", TASK, steps=2, config=CONFIG, seeds=seeds,
                                        log_every=2), data)
    assert seen == [True, False]
