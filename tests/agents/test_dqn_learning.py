"""DQN's forward passes: Q(s') without a gradient, and the behaviour agent's one-pass form."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from rl_unplugged import networks, registry
from rl_unplugged.agents import common
from rl_unplugged.agents.common import Batch
from rl_unplugged.agents.dqn import learning
from rl_unplugged.generation import dqn as behaviour

B = 5  # 2B = 10 rows is a shape no other operand here has.


def _setup():
    task = registry.get_task("classic/cartpole")
    net = networks.make_network(task, (32, 32))
    dummy = common.dummy_observation(task)
    params = net.init(jax.random.PRNGKey(0), dummy)
    target = net.init(jax.random.PRNGKey(1), dummy)
    k = jax.random.split(jax.random.PRNGKey(2), 3)
    shape = (B, *dummy.shape[1:])
    batch = Batch(jax.random.normal(k[0], shape), jax.random.randint(k[1], (B,), 0, 2),
                  jnp.ones(B), jnp.array([1.0, 0.0, 1.0, 1.0, 1.0]),
                  jax.random.normal(k[2], shape))
    return task, net, params, target, batch


def _grad(joint: bool):
    _, net, params, target, batch = _setup()
    loss = functools.partial(learning.loss_fn, target_params=target, state=None, batch=batch,
                             key=None, network=net, gamma=0.99, kappa=1.0,
                             joint_forward=joint)
    return jax.value_and_grad(lambda p: loss(p)[0]), params


def _dot_row_counts(jaxpr) -> list[int]:
    """The leading dimension of every dot_general operand, sub-jaxprs included."""
    rows = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            rows += [v.aval.shape[0] for v in eqn.invars if v.aval.ndim]
        for sub in jax.core.jaxprs_in_params(eqn.params):
            rows += _dot_row_counts(sub)
    return rows


def test_both_forms_give_the_same_loss_and_gradient():
    (va, ga), (vb, gb) = (f(p) for f, p in (_grad(True), _grad(False)))
    np.testing.assert_allclose(va, vb, rtol=1e-6)
    for a, b in zip(jax.tree.leaves(ga), jax.tree.leaves(gb), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_the_gradient_does_not_run_over_the_next_observations_rows():
    fn, params = _grad(False)
    assert 2 * B not in _dot_row_counts(jax.make_jaxpr(fn)(params).jaxpr)
    fn, params = _grad(True)  # The one-pass form does (so this check can fail).
    assert 2 * B in _dot_row_counts(jax.make_jaxpr(fn)(params).jaxpr)


def test_the_behaviour_agent_keeps_the_one_pass_form_of_its_recorded_builds():
    task, _, _, _, batch = _setup()
    config = dataclasses.replace(task.behaviour, hidden=(32, 32), batch_size=B)
    agent = behaviour.Agent(task, config)
    state = agent.init(jax.random.PRNGKey(0))
    assert 2 * B in _dot_row_counts(jax.make_jaxpr(agent._update)(state, batch).jaxpr)
