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
from rl_unplugged.specs import FIXED_POLICY_SIGMA, NOISE_LEVELS, TaskSpec


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
            "a local build. Generation is a pure function of the spec up to floating "
            "point: a level whose agent learns while it logs amplifies a last-bit "
            "difference until the run diverges. XLA's CPU sums depend on the thread count "
            "and on XLA's CPU flags: generation computes with one XLA thread and no such "
            "flag on any core count (`rl_unplugged/generation/numerics.py`), the settings "
            "most builds below were made under (one pinned core). They also depend on the "
            "machine: a machine rebuilds its own bytes, two machines of the same kind gave "
            "the same digest for Hopper's whole 500k-step run, and a one-core rebuild of "
            "MinAtar breakout's 1M-step run matched its recorded digest; but on those "
            "machines HalfCheetah's, Walker2d's and Hopper's runs did not reproduce their "
            "recorded digests, so the machine the recorded builds were made on computed "
            "otherwise; the code is not the cause "
            "(`rl_unplugged/data/reference_builds.py` has the measurements). XLA hands "
            "some dots and reductions to YNNPACK, which picks "
            "its kernels by the host's CPU features. The last column names the machine a "
            "build was recorded on (builds recorded before 2026-11-27 name none), and "
            "`verify` says where yours differs. Treat a "
            "continuous learning run's digest as naming the bytes recorded on that "
            "machine, which another kind of machine need not reach.", "",
            "| dataset | manifest sha256 | episodes | transitions | mean return | recorded on |",
            "|---|---|---|---|---|---|"]
    for name, b in builds.items():
        rows.append(f"| `{name}` | `{b['manifest_sha256']}` | {b['num_episodes']:,} | "
                    f"{b['num_transitions']:,} | {b['episode_return_mean']:.4g} | "
                    f"{_machine(b.get('recorded_on'))} |")
    return rows


def _machine(host: dict | None) -> str:
    """A recording machine (`reference_builds.host()`) in a table cell."""
    if host is None:
        return "not recorded"
    features = host.get("kernel_features") or []
    # The widest of the vector levels YNNPACK builds its kernels for.
    widest = next((f", {name}" for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"),
                                                  ("avx", "AVX"), ("sse2", "SSE2"))
                   if flag in features), "")
    return f"{host.get('cpu') or 'CPU not named'} ({host.get('machine')}{widest}), " \
           f"jaxlib {host.get('jaxlib')}"


_DISCRETE_FEATURES = (
    "| steps/action_replaced | bool | () | a_k was replaced by a random action |",
    "| steps/agent_action | int64 | () | the behaviour agent's own (epsilon-greedy) "
    "choice at o_k, before action noise |",
    "| steps/greedy_action | int64 | () | argmax of the behaviour agent's Q-values at o_k "
    "(-1 in the random level) |")
_CONTINUOUS_FEATURES = (
    "| steps/mean_action | float32 | (A,) | the policy's deterministic action at o_k, "
    "before noise |",
    "| steps/action_noise_std | float32 | () | std of the Gaussian noise added to it "
    "(per half-width of each action dimension) |")


def _continuous_behaviour(tasks: list[TaskSpec], noise: str, builder: str) -> list[str]:
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
        "- D4RL-style fixed-policy levels (Fu et al. 2020), made from the `noise0` replay "
        "run with the same run index (`generation/d4rl_levels.py`). Every checkpoint of "
        "that run plays its mean action in 20 episodes on held-out seeds (disjoint from the "
        "evaluation protocols' seeds); the manifest records every checkpoint's mean and the "
        "choice (`generation.d4rl_level`).",
        "  - **expert**: the checkpoint with the highest mean, playing the dataset's "
        "transitions with a little action noise (mean action plus Gaussian noise of std "
        f"{FIXED_POLICY_SIGMA:g} per half-width, clipped, as TD3's exploration; `mean_action` and "
        "`action_noise_std` per step); `checkpoint` = its index. (The D4PG's own 0.3 "
        "halved Hopper's expert return.)",
        "  - **medium**: among the checkpoints up to the expert one, the one whose mean is "
        "closest to half the expert's, playing as the expert level does.",
        "  - **medium_replay**: the replay run's episodes up to the save of the medium "
        "checkpoint, unchanged: what the agent logged until it reached the medium policy. "
        "Its size is what the run took to get there (the table's transitions are its cap).",
        "  - **medium_expert**: the medium level's episodes followed by the expert level's "
        "(twice the transitions), renumbered; `checkpoint` says which policy played.",
        "  Their returns as built are recorded in `datasets/behaviour_competence.md`.",
        "",
        "Competence runs of the behaviour agent (learning curves against the published "
        "curves the targets come from, at the same step budget: state SAC, Acme's D4PG or "
        "TD3, as each target's source says) are recorded in `datasets/behaviour_competence.md`. "
        "Raw logs are generated with `rl_unplugged.generation.generate(spec)`; the TFDS "
        f"builder `{builder}` (`rl_unplugged/builders/{builder}.py`) prepares them for "
        f"`tfds.load('{builder}/<config>')` (`rlu datasets build` does the same), with "
        "`mean_action` and `action_noise_std` among each step's fields.",
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


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _competence_rows(tasks: list[TaskSpec]) -> list[str]:
    """Each task's competence target, and what its recorded noise0 run0 build reached."""
    from rl_unplugged.data import reference_builds

    builds = reference_builds.load()
    rows = ["## Competence of the behaviour runs", "",
            "Each task's logged `noise0` run must reach a target by its end (issue 8). "
            "`reached` compares the target with the greedy return, on the evaluation "
            "protocol's seeds, of the run's best checkpoint chosen on held-out seeds (the "
            "policy the `expert` level plays). Beside it, the logged (epsilon-greedy or "
            "noisy, still learning) returns: mean of the first and last 10% of episodes, the "
            "curve (mean return per tenth of the run's transitions), and whether the last 10% "
            "reach the target. The targets' sources measure different things: MinAtar's and "
            "bsuite's published curves are returns of the learning run's own episodes, so "
            "for them the logged column is the like-for-like one, and it is stricter; so, "
            "most likely, is Acme's D4PG file behind walker_stand's and finger_turn_hard's "
            "targets (one point per training episode; `datasets/behaviour_competence.md`). "
            "Measured on the recorded reference build of run 0 (below); a task without one "
            "has no measurement yet.",
            "", "| task | target | source | greedy best checkpoint | reached | logged first "
            "10% | logged last 10% | logged last 10% reaches target | logged curve (tenths of "
            "the run) |",
            "|---|---|---|---|---|---|---|---|---|"]
    missed = []
    for t in tasks:
        c = t.competence
        target = "-" if c is None else f"{c.value:g}"
        source = "-" if c is None else c.source
        build = builds.get(f"rlu_{t.domain}/{t.name}_noise0_run0")
        if build is None or build.get("generator_version") is None:
            rows.append(f"| {t.name} | {target} | {source} | not built yet | - | - | - | - | - |")
            continue
        comp = build.get("competence") or {}
        reached = ("no target" if c is None else
                   {True: "yes", False: "**no**"}.get(comp.get("reached"), "not measured"))
        last10 = build.get("last10_mean")
        logged = ("-" if c is None or last10 is None
                  else "yes" if last10 >= c.value else "**no**")
        curve = ", ".join(_fmt(v) for v in build.get("curve", []))
        rows.append(f"| {t.name} | {target} | {source} | {_fmt(comp.get('greedy_return'))} | "
                    f"{reached} | {_fmt(build.get('first10_mean'))} | "
                    f"{_fmt(last10)} | {logged} | {curve} |")
        if comp.get("reached") is False:
            missed.append((t.name, c.shortfall if c is not None else ""))
    if missed:
        rows += ["", "Below target, and why:", ""]
        rows += [f"- **{name}**: " + (f"{why.rstrip('.')}." if why else "**not explained "
                                       "yet** (the registry's `CompetenceTarget.shortfall` "
                                       "is empty).")
                 for name, why in missed]
    return rows


def render_external_card(domain: str) -> str:
    """The card of a domain whose datasets are not built here (Atari): its tasks, where
    its data come from, its environment settings and its evaluation references."""
    tasks = registry.tasks(domain)
    spec = registry.get_domain(domain)
    s = registry.ATARI_SETTINGS
    tuning = {registry.atari_task_name(g) for g in registry.RLU_ATARI_TUNING_GAMES}
    example = tasks[0]
    lines = [
        f"# `rlu_{domain}`: {spec.title}",
        "",
        f"Tasks of {spec.summary}. **No dataset is built here** (`rlu datasets build` has "
        "nothing to build and there is no `rlu_atari` builder of this suite; TFDS's own "
        "`rlu_atari` is RL Unplugged's): the data are RL Unplugged's original files "
        "(Gulcehre et al. 2020), read by `rl_unplugged.data.rlu_originals` into the store, "
        "and the alignment of their transitions is documented in `datasets/interchange.md`. "
        "With `--task atari/<game>` the store holds the game's registered task (its minimal "
        "action set), so runs trained on it evaluate under the game's protocol and can be "
        "submitted.",
        "",
        "```sh",
        f"rlu datasets import rlu-gcs:<root>/{registry.atari_game(example)}/run_1 "
        f"--task {example.id} --as {example.external_datasets[0]}",
        "```",
        "",
        "A submission trains on the task's datasets listed by its protocol "
        f"(`{example.external_datasets[0]}` .. `_run_{len(example.external_datasets)}`: five "
        "DQN runs per game) and is evaluated under it (`evaluation/protocols/`).",
        "",
        "## Tasks",
        "",
        "RL Unplugged's split (`rl_unplugged/atari.py` of deepmind-research): tune on the "
        f"{len(registry.RLU_ATARI_TUNING_GAMES)} tuning games, report on the "
        f"{len(registry.RLU_ATARI_TESTING_GAMES)} testing games. The leaderboard track "
        f"`{domain}` holds the {len(registry.track_tasks(domain))} testing games with "
        "published references (all but Carnival).",
        "",
        "| task | environment | split | observation | actions (minimal set) | time limit | "
        "description |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        lines.append(f"| {t.name} | `{t.env_id}` | "
                     f"{'tuning' if t.name in tuning else 'testing'} | {t.observation.shape} "
                     f"{t.observation.dtype} | {t.num_actions} | {t.max_episode_steps:,} | "
                     f"{t.description} |")
    lines += [
        "",
        "## Environment (`rl_unplugged/envs/atari.py`)",
        "",
        "The settings of the Dopamine DQN runs that logged the data (Agarwal et al. 2020; "
        "`registry.ATARI_SETTINGS`), through ale-py with gymnasium's `AtariPreprocessing` "
        "and `FrameStackObservation`:",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in s.as_dict().items()],
        "",
        f"Episodes are capped at {s.max_frames:,} frames = {s.max_episode_steps:,} agent "
        "steps (a truncation, not a termination). Rewards and returns are raw game scores "
        "(RL Unplugged's `r_t` is clipped to [-1, 1]; the protocols report unclipped "
        "returns).",
        "",
        "## Normalisation",
        "",
        "Published random and human scores (Badia et al. 2020, Atari-57; "
        "`rl_unplugged/evaluation/atari_references.py`), not measured under the protocol; "
        "Carnival and Pooyan have none.",
        "",
        "## Citation",
        "",
        "- Gulcehre et al., *RL Unplugged: A Suite of Benchmarks for Offline Reinforcement "
        "Learning*, NeurIPS 2020.",
        "- Agarwal et al., *An Optimistic Perspective on Offline Reinforcement Learning*, "
        "ICML 2020.",
        f"- {spec.citation}",
        "",
    ]
    return "\n".join(lines)


def render_card(domain: str) -> str:
    """The Markdown card of builder `rlu_<domain>` (`render_external_card` for a domain
    whose datasets are not built here)."""
    tasks = registry.tasks(domain)
    if not any(t.builds_datasets for t in tasks):
        return render_external_card(domain)
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
    lines += _continuous_behaviour(tasks, noise, builder) if continuous else [
        "",
        "## Behaviour (levels)",
        "",
        f"- **replay** ({noise}): every episode an online double DQN played while it "
        "learned, logged from its first step. With probability `noise` the executed action "
        "is replaced by a uniformly random one, as in RL Unplugged's bsuite data; each step "
        "records `action_replaced`, the agent's own epsilon-greedy choice `agent_action` and "
        "its argmax `greedy_action`. Episode metadata "
        "`checkpoint` is the index of the latest agent checkpoint saved before the episode "
        "(a checkpoint every `checkpoint_every_episodes` episodes); the agent keeps learning "
        "while it plays, so the episode is not that checkpoint's own play.",
        "- **random**: a uniformly random policy (`checkpoint` = -1, `greedy_action` = -1).",
        "- **expert**: greedy rollouts of the best checkpoint of the `noise0` replay run "
        "with the same run index: every checkpoint plays 20 greedy episodes on held-out "
        "seeds (a salted seed stream disjoint from the evaluation protocols' seeds) and "
        "the highest mean wins (`generation.best_checkpoint_greedy`; online DQN can "
        "collapse late in a run, so the final checkpoint is not reliably the best). The "
        "choice and every checkpoint's held-out mean are in the raw log's manifest "
        "(`generation.expert.selection`).",
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
    lines += ["", *_competence_rows(tasks)]
    lines += [
        "",
        "## Sizes",
        "",
        "Every dataset logs at least the listed number of transitions (episodes are never cut "
        "short: the last one runs to its end)"
        + ("; except `medium_replay`, the replay run's episodes up to the medium checkpoint, "
           "for which the listed number is a cap." if any(s.level == "medium_replay"
                                                          for s in specs) else "."),
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
