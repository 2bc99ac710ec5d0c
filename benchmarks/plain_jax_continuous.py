"""The continuous rows' plain-JAX anchor: BC, TD3+BC, IQL and CQL(SAC) hand-written.

JAX-CORL/Unifloral style: parameters as lists of (W, b), one jitted `lax.scan` of
(sample a minibatch inside jit, update), optax Adam per network, no logging, probes or
checkpoints. Independent of the suite's code (no flax, no TFP: the tanh-Gaussian's
log-density is written out), but the same work per update as the suite's learners at
their defaults: ReLU MLPs of `hidden`, twin critics over [s, a] evaluated as one
vmapped pass, the same losses and update order (`rl_unplugged/agents/<name>/`), Polyak
targets (tau 0.005), gamma 0.99, actions in [-1, 1]. IQL's policy is its default, the
authors' Gaussian around tanh(mean) with one state-independent log-std.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
GAMMA, TAU, LR = 0.99, 0.005, 3e-4


def mlp_init(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.nn.initializers.lecun_normal()(k, (a, b)), jnp.zeros(b))
            for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)]


def mlp(params, x):
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def gaussian(params, obs):
    mean, raw = jnp.split(mlp(params, obs), 2, axis=-1)
    return mean, LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw) + 1.0)


def _tanh_log_det(x):
    # log(1 - tanh(x)^2), written stably.
    return 2.0 * (jnp.log(2.0) - x - jax.nn.softplus(-2.0 * x))


def _normal_log_prob(x, mean, log_std):
    return -0.5 * ((x - mean) / jnp.exp(log_std)) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi)


def log_prob(mean, log_std, action):
    a = jnp.clip(action, -1.0 + 1e-6, 1.0 - 1e-6)
    x = jnp.arctanh(a)
    return jnp.sum(_normal_log_prob(x, mean, log_std) - _tanh_log_det(x), axis=-1)


def sample(mean, log_std, key):
    x = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
    return jnp.tanh(x), jnp.sum(_normal_log_prob(x, mean, log_std) - _tanh_log_det(x), -1)


def q_values(critics, obs, action):
    """(2, B) from the stacked twin critics."""
    x = jnp.concatenate([obs, action], axis=-1)
    return jax.vmap(lambda p: mlp(p, x)[:, 0])(critics)


def polyak(target, online):
    return jax.tree.map(lambda t, o: (1 - TAU) * t + TAU * o, target, online)


def make(name: str, obs_dim: int, act_dim: int, hidden: tuple[int, ...]):
    """(init(key) -> carry, update(carry, batch) -> carry) of learner `name`."""
    adam = optax.adam(LR)
    critic_sizes = [obs_dim + act_dim, *hidden, 1]

    def twin(key):
        return jax.vmap(lambda k: mlp_init(k, critic_sizes))(jax.random.split(key, 2))

    def step(params, opt, grads):
        updates, opt = adam.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt

    if name == "bc_gaussian":
        def init(key):
            p = mlp_init(key, [obs_dim, *hidden, 2 * act_dim])
            return {"policy": p, "opt": adam.init(p)}

        def update(c, batch, key):
            def loss(p):
                return -jnp.mean(log_prob(*gaussian(p, batch["obs"]), batch["action"]))

            p, opt = step(c["policy"], c["opt"], jax.grad(loss)(c["policy"]))
            return {"policy": p, "opt": opt}

    elif name == "td3_bc":
        def init(key):
            k1, k2 = jax.random.split(key)
            q, pi = twin(k1), mlp_init(k2, [obs_dim, *hidden, act_dim])
            return {"q": q, "pi": pi, "q_t": q, "pi_t": pi, "q_opt": adam.init(q),
                    "pi_opt": adam.init(pi), "t": jnp.int32(0)}

        def update(c, batch, key):
            noise = jnp.clip(0.2 * jax.random.normal(key, batch["action"].shape), -0.5, 0.5)
            next_a = jnp.clip(jnp.tanh(mlp(c["pi_t"], batch["next_obs"])) + noise, -1, 1)
            next_q = jnp.min(q_values(c["q_t"], batch["next_obs"], next_a), 0)
            y = batch["reward"] + GAMMA * batch["discount"] * next_q

            def critic_loss(q):
                return jnp.sum(jnp.mean((q_values(q, batch["obs"], batch["action"]) - y) ** 2,
                                        -1))

            q, q_opt = step(c["q"], c["q_opt"], jax.grad(critic_loss)(c["q"]))
            c = {**c, "q": q, "q_opt": q_opt, "t": c["t"] + 1}

            def policy_step(c):
                q1 = jax.tree.map(lambda x: x[0], c["q"])

                def loss(pi):
                    a = jnp.tanh(mlp(pi, batch["obs"]))
                    v = mlp(q1, jnp.concatenate([batch["obs"], a], -1))[:, 0]
                    lam = 2.5 / jax.lax.stop_gradient(jnp.mean(jnp.abs(v)))
                    return -lam * jnp.mean(v) + jnp.mean((a - batch["action"]) ** 2)

                pi, pi_opt = step(c["pi"], c["pi_opt"], jax.grad(loss)(c["pi"]))
                return {**c, "pi": pi, "pi_opt": pi_opt, "q_t": polyak(c["q_t"], c["q"]),
                        "pi_t": polyak(c["pi_t"], pi)}

            return jax.lax.cond(c["t"] % 2 == 0, policy_step, lambda c: c, c)

    elif name == "iql":
        def init(key):
            k1, k2, k3 = jax.random.split(key, 3)
            q, v = twin(k1), mlp_init(k2, [obs_dim, *hidden, 1])
            # The authors' policy (the suite's default): N(tanh(mean), exp(log_std)^2).
            pi = {"mean": mlp_init(k3, [obs_dim, *hidden, act_dim]),
                  "log_std": jnp.zeros(act_dim)}
            return {"q": q, "q_t": q, "v": v, "pi": pi, "q_opt": adam.init(q),
                    "v_opt": adam.init(v), "pi_opt": adam.init(pi)}

        def update(c, batch, key):
            obs, action = batch["obs"], batch["action"]
            tq = jnp.min(q_values(c["q_t"], obs, action), 0)

            def value_loss(v):
                diff = tq - mlp(v, obs)[:, 0]
                return jnp.mean(jnp.where(diff < 0, 0.3, 0.7) * diff ** 2)

            v, v_opt = step(c["v"], c["v_opt"], jax.grad(value_loss)(c["v"]))
            w = jax.lax.stop_gradient(jnp.minimum(jnp.exp(3.0 * (tq - mlp(v, obs)[:, 0])),
                                                  100.0))

            def policy_loss(pi):
                mean, log_std = jnp.tanh(mlp(pi["mean"], obs)), jnp.clip(pi["log_std"], -5, 2)
                return -jnp.mean(w * jnp.sum(_normal_log_prob(action, mean, log_std), -1))

            pi, pi_opt = step(c["pi"], c["pi_opt"], jax.grad(policy_loss)(c["pi"]))
            y = batch["reward"] + GAMMA * batch["discount"] * mlp(v, batch["next_obs"])[:, 0]

            def critic_loss(q):
                return jnp.sum(jnp.mean((q_values(q, obs, action) - y) ** 2, -1))

            q, q_opt = step(c["q"], c["q_opt"], jax.grad(critic_loss)(c["q"]))
            return {"q": q, "q_t": polyak(c["q_t"], q), "v": v, "pi": pi, "q_opt": q_opt,
                    "v_opt": v_opt, "pi_opt": pi_opt}

    elif name == "cql_sac":
        n, target_entropy = 10, -float(act_dim)

        def init(key):
            k1, k2 = jax.random.split(key)
            q, pi = twin(k1), mlp_init(k2, [obs_dim, *hidden, 2 * act_dim])
            log_t = jnp.zeros(())
            return {"q": q, "q_t": q, "pi": pi, "log_t": log_t, "q_opt": adam.init(q),
                    "pi_opt": adam.init(pi), "t_opt": adam.init(log_t)}

        def update(c, batch, key):
            k_next, k_pi, k_uni, k_new = jax.random.split(key, 4)
            obs, action = batch["obs"], batch["action"]
            b = obs.shape[0]
            temp = jnp.exp(c["log_t"])
            next_a, next_lp = sample(*gaussian(c["pi"], batch["next_obs"]), k_next)
            next_q = jnp.min(q_values(c["q_t"], batch["next_obs"], next_a), 0)
            y = batch["reward"] + GAMMA * batch["discount"] * (next_q - temp * next_lp)
            mean, log_std = gaussian(c["pi"], obs)
            rep = lambda x: jnp.broadcast_to(x, (n, *x.shape)).reshape(n * b, *x.shape[1:])  # noqa: E731
            pi_a, pi_lp = sample(rep(mean), rep(log_std), k_pi)
            pi_a, pi_lp = jax.lax.stop_gradient(pi_a), jax.lax.stop_gradient(pi_lp)
            uniform = jax.random.uniform(k_uni, (n * b, act_dim), minval=-1.0, maxval=1.0)
            obs_2n = jnp.concatenate([rep(obs), rep(obs)])

            def critic_loss(q):
                qd = q_values(q, obs, action)
                td = jnp.sum(jnp.mean((qd - y) ** 2, -1))
                ood = q_values(q, obs_2n, jnp.concatenate([uniform, pi_a])).reshape(2, 2, n, b)
                both = jnp.concatenate([ood[:, 0] + act_dim * jnp.log(2.0),
                                        ood[:, 1] - pi_lp.reshape(n, b)[None]], axis=1)
                penalty = jnp.mean(jax.nn.logsumexp(both, axis=1), -1) - jnp.mean(qd, -1)
                return td + jnp.sum(5.0 * penalty)

            q, q_opt = step(c["q"], c["q_opt"], jax.grad(critic_loss)(c["q"]))

            def policy_loss(pi):
                a, lp = sample(*gaussian(pi, obs), k_new)
                return jnp.mean(temp * lp - jnp.min(q_values(q, obs, a), 0)), lp

            grads, lp = jax.grad(policy_loss, has_aux=True)(c["pi"])
            pi, pi_opt = step(c["pi"], c["pi_opt"], grads)
            t_grad = jax.grad(lambda lt: -lt * jnp.mean(jax.lax.stop_gradient(lp)
                                                        + target_entropy))(c["log_t"])
            log_t, t_opt = step(c["log_t"], c["t_opt"], t_grad)
            return {"q": q, "q_t": polyak(c["q_t"], q), "pi": pi, "log_t": log_t,
                    "q_opt": q_opt, "pi_opt": pi_opt, "t_opt": t_opt}

    else:
        raise ValueError(f"no plain-JAX anchor for {name!r}")
    return init, update


def run(name: str, arrays: dict[str, np.ndarray], steps: int, *, hidden: tuple[int, ...],
        batch_size: int, chunk: int) -> dict[str, float]:
    """Updates/s of the hand-written `name` over `steps` updates (after a compiling call)."""
    data = {"obs": jnp.asarray(arrays["observation"]), "action": jnp.asarray(arrays["action"]),
            "reward": jnp.asarray(arrays["reward"]),
            "discount": jnp.asarray(1.0 - arrays["terminal"]),
            "next_obs": jnp.asarray(arrays["next_observation"])}
    size, obs_dim = data["obs"].shape
    init, update = make(name, obs_dim, data["action"].shape[1], tuple(hidden))

    def body(carry, _):
        c, key = carry
        key, k_idx, k_update = jax.random.split(key, 3)
        idx = jax.random.randint(k_idx, (batch_size,), 0, size)
        return (update(c, {k: v[idx] for k, v in data.items()}, k_update), key), None

    length = min(chunk, steps)
    scan = jax.jit(lambda carry: jax.lax.scan(body, carry, None, length=length)[0])
    carry = jax.block_until_ready(scan((init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1))))
    calls = max(1, steps // length - 1)
    t0 = time.perf_counter()
    for _ in range(calls):
        carry = scan(carry)
    jax.block_until_ready(carry)
    return {"updates_per_s": calls * length / (time.perf_counter() - t0)}
