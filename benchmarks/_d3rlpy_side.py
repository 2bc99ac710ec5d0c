"""d3rlpy 2.8.1 side of benchmarks/learners.py; run in its own venv (torch, gymnasium 1.0).

Usage: python _d3rlpy_side.py DATA.npz STEPS DEVICE ALGO [ALGO ...]; prints JSON.
DATA.npz holds discrete (N,) or continuous (N, A) actions; ALGO is the suite's name
(bc, dqn, cql; bc_gaussian, td3_bc, cql_sac, iql), mapped to d3rlpy's config below.
Not imported by the suite (d3rlpy pins gymnasium==1.0.0).
"""

import json
import sys
import time

import numpy as np


def main() -> None:
    path, steps, device, *algos = sys.argv[1:]
    steps = int(steps)
    import d3rlpy
    import torch

    torch.manual_seed(0)
    z = np.load(path)
    continuous = z["action"].ndim == 2  # Float (N, A) actions; discrete ones are (N,).
    if continuous:
        dataset = d3rlpy.dataset.MDPDataset(
            observations=z["observation"], actions=z["action"].astype(np.float32),
            rewards=z["reward"], terminals=z["terminal"], timeouts=z["timeout"],
            action_space=d3rlpy.ActionSpace.CONTINUOUS)
    else:
        dataset = d3rlpy.dataset.MDPDataset(
            observations=z["observation"], actions=z["action"].astype(np.int64),
            rewards=z["reward"], terminals=z["terminal"], timeouts=z["timeout"],
            action_space=d3rlpy.ActionSpace.DISCRETE, action_size=int(z["num_actions"]))
    encoder = d3rlpy.models.VectorEncoderFactory(hidden_units=[256, 256])
    common = {"batch_size": 256, "actor_encoder_factory": encoder,
              "critic_encoder_factory": encoder, "actor_learning_rate": 3e-4,
              "critic_learning_rate": 3e-4}
    configs = {
        # The suite's continuous learners and their d3rlpy counterparts (paper defaults).
        "bc_gaussian": lambda: d3rlpy.algos.BCConfig(batch_size=256, encoder_factory=encoder,
                                                     learning_rate=3e-4,
                                                     policy_type="stochastic"),
        # State normalisation on both sides (the paper's; the suite's default, eps 1e-3).
        "td3_bc": lambda: d3rlpy.algos.TD3PlusBCConfig(
            **common, alpha=2.5, update_actor_interval=2,
            observation_scaler=d3rlpy.preprocessing.StandardObservationScaler()),
        "cql_sac": lambda: d3rlpy.algos.CQLConfig(**common, conservative_weight=5.0,
                                                  n_action_samples=10),
        "iql": lambda: d3rlpy.algos.IQLConfig(**common, expectile=0.7, weight_temp=3.0,
                                              value_encoder_factory=encoder),
        "bc": lambda: d3rlpy.algos.DiscreteBCConfig(batch_size=256, encoder_factory=encoder,
                                                    learning_rate=3e-4),
        "dqn": lambda: d3rlpy.algos.DoubleDQNConfig(batch_size=256, encoder_factory=encoder,
                                                    learning_rate=3e-4,
                                                    target_update_interval=2000),
        "cql": lambda: d3rlpy.algos.DiscreteCQLConfig(batch_size=256, encoder_factory=encoder,
                                                      learning_rate=3e-4,
                                                      target_update_interval=2000, alpha=1.0),
    }
    out = {"torch": torch.__version__, "d3rlpy": d3rlpy.__version__,
           "torch_threads": torch.get_num_threads()}
    for name in algos:
        algo = configs[name]().create(device=device)
        marks = {}
        warmup = min(100, steps // 2)

        def callback(algo, epoch, total_step, marks=marks, warmup=warmup):
            if total_step == warmup:
                marks["start"] = time.perf_counter()

        t0 = time.perf_counter()
        algo.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
                 logger_adapter=d3rlpy.logging.NoopAdapterFactory(), save_interval=10**9,
                 callback=callback)
        end = time.perf_counter()
        # Steady state after `warmup` updates (dataset setup and first steps excluded,
        # as the compiling call is on the JAX side); the whole fit is reported too.
        out[name] = (steps - warmup) / (end - marks["start"])
        out[f"{name}_whole_fit"] = steps / (end - t0)
    print("D3RLPY_JSON " + json.dumps(out))


if __name__ == "__main__":
    main()
