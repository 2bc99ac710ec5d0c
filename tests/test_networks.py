import jax
import jax.numpy as jnp

from rl_unplugged import networks, registry


def test_networks_return_values_and_representation():
    for task_id, hidden in (("bsuite/catch", (8, 6)), ("minatar/breakout", (5,))):
        task = registry.get_task(task_id)
        net = networks.make_network(task, hidden, num_atoms=3)
        obs = jnp.zeros((2, *task.observation.shape), task.observation.dtype)
        params = net.init(jax.random.PRNGKey(0), obs)
        out = net.apply(params, obs)
        assert out.values.shape == (2, task.num_actions, 3)
        assert out.representation.shape == (2, hidden[-1])
        assert out.activations[-1] is not None and len(out.activations) >= len(hidden)
