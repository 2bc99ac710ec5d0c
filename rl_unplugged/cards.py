"""Dataset cards (`datasets/rlu_<domain>.md`), rendered from the registry.

Titles, citations, task tables, behaviour settings and sizes come from
`rl_unplugged.registry` (`get_domain`, `tasks`, `datasets`), so the
cards cannot drift from the builders; tests check the committed cards equal the
rendered ones. Regenerate with `python -m rl_unplugged.cards [OUT_DIR]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rl_unplugged import fileio, registry
from rl_unplugged.specs import NOISE_LEVELS, TaskSpec


def _mib(task: TaskSpec) -> float:
    """Uncompressed observation bytes of one dataset (one observation per step)."""
    per_obs = task.observation.size * np.dtype(task.observation.dtype).itemsize
    return task.behaviour.num_steps * per_obs / 2**20


def _reference_rows(domain: str) -> list[str]:
    from rl_unplugged.data import reference_builds

    builds = {n: b for n, b in reference_builds.load().items() if n.startswith(f"rlu_{domain}/")}
    if not builds:
        return ["No reference build recorded yet for this domain."]
    rows = ["SHA-256 of each raw log's `manifest.json` (which lists every shard's SHA-256) "
            "from builds made on this project's machines; `rlu datasets verify NAME` compares "
            "a local build. Generation is deterministic, so a rebuild must match.", "",
            "| dataset | manifest sha256 | episodes | transitions | mean return |",
            "|---|---|---|---|---|"]
    for name, b in builds.items():
        rows.append(f"| `{name}` | `{b['manifest_sha256']}` | {b['num_episodes']:,} | "
                    f"{b['num_transitions']:,} | {b['episode_return_mean']:.4g} |")
    return rows


_DISCRETE_FEATURES = (
    "| steps/action_replaced | bool | () | a_k was replaced by a random action |",
    "| steps/greedy_action | int64 | () | the behaviour agent's own choice at o_k |")
_CONTINUOUS_FEATURES = (
    "| steps/mean_action | float32 | (A,) | the policy's deterministic action at o_k, "
    "before noise |",
    "| steps/action_noise_std | float32 | () | std of the Gaussian noise added to it "
    "(per half-width of each action dimension) |")


def _continuous_behaviour(tasks: list[TaskSpec], noise: str) -> list[str]:
    """The levels and behaviour table of continuous domains (the D4PG of generation/d4pg)."""
    from rl_unplugged.generation.d4pg import D4PGConfig  # Lazy: imports JAX.

    d4pg = D4PGConfig()
    lines = [
        "",
        "## Behaviour (levels)",
        "",
        f"- **replay** ({noise}): every episode an online D4PG with a mixture-of-Gaussians "
        "critic (Shahriari et al. 2022; `generation/d4pg.py`) played while it learned, "
        "logged from its first step. The executed action is the policy's deterministic "
        "action plus Gaussian noise, clipped into the bounds: std = sqrt(sigma^2 + noise^2) "
        f"per half-width of each dimension, sigma = {d4pg.sigma:g} the agent's own "
        "exploration and `noise` the level's extra noise; each step records `mean_action` "
        "(before noise) and `action_noise_std`. Episode metadata `checkpoint` as for the "
        "discrete domains (the agent keeps learning while it plays).",
        "- **random**: uniform actions in the bounds (`checkpoint` = -1; `mean_action` = "
        "the action, `action_noise_std` 0).",
        "- **expert**: not available yet: it needs a D4PG run that reached competence "
        "(generation refuses it with a ConfigError); D4RL-style medium, medium-replay and "
        "medium-expert levels are not defined yet either.",
        "",
        "Competence runs of the behaviour agent (learning curves against published D4PG "
        "curves at the same step budget) are recorded in `datasets/behaviour_competence.md`. "
        "Raw logs are generated with `rl_unplugged.generation.generate(spec)`; the TFDS "
        "builder of this domain is not written yet.",
        "",
        "Each level has runs `run0`.. with different seeds (a pure function of task, level, "
        "noise and run). The behaviour agent per task (Adam after a global-norm clip of "
        f"{d4pg.max_grad_norm:g}; hard target copies; Acme's LayerNorm MLPs "
        f"(`{d4pg.torso}`); one update of a batch per `update period` environment steps):",
        "",
        "| task | MLP widths (policy, critic) | learning rate | batch | replay | warm-up | "
        "update period | target period | sigma | n-step | mixture components | "
        "target samples | checkpoint every |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        b = t.behaviour
        lines.append(f"| {t.name} | {list(b.hidden)} | {b.learning_rate:g} | {b.batch_size} | "
                     f"{b.replay_capacity:,} | {b.min_replay_size:,} | {b.update_period} | "
                     f"{b.target_update_period:,} | {d4pg.sigma:g} | {d4pg.n_step} | "
                     f"{d4pg.num_components} | {d4pg.num_target_samples} | "
                     f"{b.checkpoint_every_episodes} episodes |")
    return lines


def render_card(domain: str) -> str:
    """The Markdown card of builder `rlu_<domain>`."""
    tasks = registry.tasks(domain)
    builder = f"rlu_{domain}"
    specs = registry.datasets(builder)
    spec = registry.get_domain(domain)
    title, what = spec.title, spec.summary
    example = specs[0].name
    noise = ", ".join(f"noise{round(n * 100)}" for n in NOISE_LEVELS)
    lines = [
        f"# `{builder}`: {title} datasets",
        "",
        f"RLDS datasets of {what}, generated and logged locally by this suite in the line of "
        "RL Unplugged (Gulcehre et al. 2020). One TFDS builder, one config per "
        f"(task, level, run): {len(specs)} configs named `<task>_<level>_run<k>`, e.g. "
        f"`{example}`.",
        "",
        "## Tasks",
        "",
        "| task | environment | observation | actions | time limit | gamma | runs | "
        "transitions / dataset | max return | description |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    continuous = not tasks[0].is_discrete
    for t in tasks:
        best = "unknown" if t.max_return is None else f"{t.max_return:g}"
        actions = t.num_actions if t.is_discrete else t.action.describe()
        lines.append(f"| {t.name} | `{t.env_id}` | {t.observation.shape} "
                     f"{t.observation.dtype} | {actions} | {t.max_episode_steps} | "
                     f"{t.gamma} | {t.num_runs} | {t.behaviour.num_steps:,} | {best} | "
                     f"{t.description} |")
    lines += [
        "",
        "Max return: the environment's known maximum episode return under the time limit "
        "(from the registry's reward bounds, `TaskSpec.max_return`); `unknown` where only a "
        "bound is known. Compare the expert references of the evaluation protocols with it.",
    ]
    lines += _continuous_behaviour(tasks, noise) if continuous else [
        "",
        "## Behaviour (levels)",
        "",
        f"- **replay** ({noise}): every episode an online double DQN played while it "
        "learned, logged from its first step. With probability `noise` the executed action "
        "is replaced by a uniformly random one, as in RL Unplugged's bsuite data; each step "
        "records `action_replaced` and the agent's own `greedy_action`. Episode metadata "
        "`checkpoint` is the index of the latest agent checkpoint saved before the episode "
        "(a checkpoint every `checkpoint_every_episodes` episodes); the agent keeps learning "
        "while it plays, so the episode is not that checkpoint's own play.",
        "- **random**: a uniformly random policy (`checkpoint` = -1).",
        "- **expert**: greedy rollouts of the best checkpoint of the `noise0` replay run "
        "with the same run index: the one whose own logged episodes (those labelled with "
        "it, played epsilon-greedily while the agent kept learning) had the highest mean "
        "return (`generation.best_checkpoint`; online DQN can collapse late in a run, so "
        "the final checkpoint is not reliably the best; only logged data is used to "
        "choose). This ranks the drifting learner, not each checkpoint's greedy play, and "
        "can miss the best greedy checkpoint; the v2 rebuild will choose by greedy returns "
        "on held-out seeds, never the protocols' (`generation.best_checkpoint_greedy`).",
        "",
        "Each level has runs `run0`.. with different seeds (a pure function of task, level, "
        "noise and run). The behaviour agent per task:",
        "",
        "| task | MLP/torso widths | learning rate | batch | replay | warm-up | target period "
        "| epsilon | checkpoint every |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks if not continuous else ():
        b = t.behaviour
        lines.append(f"| {t.name} | {list(b.hidden)} ({t.network}) | {b.learning_rate:g} | "
                     f"{b.batch_size} | {b.replay_capacity:,} | {b.min_replay_size:,} | "
                     f"{b.target_update_period:,} | {b.epsilon_start:g} -> {b.epsilon_end:g} "
                     f"over {b.epsilon_decay_steps:,} steps | {b.checkpoint_every_episodes} "
                     "episodes |")
    lines += [
        "",
        "## Sizes",
        "",
        "Every dataset logs at least the listed number of transitions (episodes are never cut "
        "short: the last one runs to its end).",
        "",
        "| task | configs | transitions / dataset | uncompressed observations / dataset |",
        "|---|---|---|---|",
    ]
    for t in tasks:
        n = sum(1 for s in specs if s.task == t)
        lines.append(f"| {t.name} | {n} | {t.behaviour.num_steps:,} | {_mib(t):,.1f} MiB |")
    lines += [
        "",
        "## Step alignment",
        "",
        "An episode with T environment transitions has T + 1 steps. Step k < T holds the "
        "observation o_k, the action a_k executed at o_k, the reward r_k received after it, "
        "and the discount d_k, which is 0 if o_{k+1} is a true terminal state and 1 "
        "otherwise. The last step holds the final observation o_T with `is_last` set; "
        "`is_terminal` is set on it only if the episode ended by termination, not by the "
        "time limit. Its action, reward and discount (and the extras) are zero: padding, "
        "never used for learning. Transitions are (o_k, a_k, r_k, d_k, o_{k+1}) for k < T, "
        "so a time-limit truncation keeps d = 1 and bootstraps. `is_first` is set on step 0 "
        "only. `episode_return` is the sum of the stored float32 rewards (computed in "
        "float64, stored as float32 by TFDS) and `episode_length` is T. Every build "
        "checks these rules on every episode (`rl_unplugged.data.conformance`).",
        "",
        "## Features",
        "",
        "| field | dtype | shape | meaning |",
        "|---|---|---|---|",
        "| steps/observation | per task (above) | per task | o_k |",
        ("| steps/action | float32 | (A,) | a_k, the executed action (0 on the last step) |"
         if continuous else "| steps/action | int64 | () | a_k (0 on the last step) |"),
        "| steps/reward | float32 | () | r_k (0 on the last step) |",
        "| steps/discount | float32 | () | d_k: 0 iff o_{k+1} is terminal (0 on the last step) |",
        "| steps/is_first, is_last, is_terminal | bool | () | RLDS flags (see above) |",
        *(_CONTINUOUS_FEATURES if continuous else _DISCRETE_FEATURES),
        "| episode_id | int64 | () | episode index in logging order |",
        "| episode_return | float32 | () | sum of rewards (float64 in the raw log) |",
        "| episode_length | int64 | () | T, the number of transitions |",
        "| run | int64 | () | run index |",
        "| checkpoint | int64 | () | latest behaviour checkpoint saved before the episode "
        "(-1: none); the agent keeps learning while it plays |",
        "| noise | float32 | () | " + ("std of the dataset's extra Gaussian action noise |"
                                       if continuous else "probability of replacing the action |"),
        "",
        "## Build and load",
        "",
        "Nothing is downloaded: datasets are generated on your machine, resumably.",
        "",
        "```sh",
        f"rlu datasets build {example}          # --data-dir DIR, default $TFDS_DATA_DIR",
        f"rlu datasets inspect {example} --out returns.png",
        "```",
        "",
        "```python",
        "import rl_unplugged, tensorflow_datasets as tfds   # importing registers the builders",
        f"ds = tfds.load('{example}', split='train')",
        "from rl_unplugged.data import loader               # TF-free, same transitions",
        f"transitions = loader.load_transitions('{example}')",
        "```",
        "",
        "Layout under the data root: `rlu_raw/<builder>/<config>/` (the raw log: Parquet "
        "shards with SHA-256s in `manifest.json`), `<builder>/<config>/<version>/` (TFDS), "
        "`rlu_cache/<builder>/<config>/` (TF-free NumPy cache). An interrupted build resumes "
        "from the last committed shard; an incomplete, too short or corrupted raw log is "
        "refused with an error naming the directory or file.",
        "",
        "## Reference build checksums",
        "",
        *_reference_rows(domain),
        "",
        "## Citation",
        "",
        "- Gulcehre et al., *RL Unplugged: A Suite of Benchmarks for Offline Reinforcement "
        "Learning*, NeurIPS 2020.",
        f"- {spec.citation}",
        "",
    ]
    return "\n".join(lines)


def write_cards(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in registry.domains():
        path = out / f"rlu_{domain}.md"
        fileio.write_text(path, render_card(domain))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_cards(sys.argv[1] if len(sys.argv) > 1 else "datasets"):
        print(p)
