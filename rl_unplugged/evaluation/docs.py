"""Rendered, human-readable protocol docs for the `evaluation/` content folder.

This module never imports the leaderboard (which imports evaluation).
"""

from __future__ import annotations

import json
from pathlib import Path

from rl_unplugged import fileio
from rl_unplugged.evaluation import protocols as protocols_lib

_CHOICES = """\
## Choices common to every protocol (version {version})

- **Episodes and seeds.** {episodes} evaluation episodes per run, each reset from a
  fixed seed listed in the protocol (31-bit, `sha256("rl_unplugged/evaluation|<task>|<i>")`,
  independent of the dataset-generation seeds). With 100 episodes the standard error of a
  run's mean is a tenth of the return's spread, small next to the run-to-run spread that
  the aggregate CIs measure; the cost stays below 10^6 steps per run.
- **Evaluation epsilon {epsilon}** (greedy). Resets are seeded and MinAtar keeps its sticky
  actions, so the tasks are already stochastic; every episode is capped. When a protocol
  uses epsilon > 0, the random actions come from a stream spawned from the episode seed
  (`numpy.random.SeedSequence(episode_seed).spawn(1)[0]`; version 1 used
  `default_rng(episode_seed)`, the stream the environment's reset also gets), so results
  do not depend on batching.
- **Frame stack 1.** The observations of these tasks are (near) Markov and the datasets
  store single observations.
- **Return.** {ret}.
- **Training data.** Only the task's own datasets (listed per protocol).
- **Policy selection.** {selection}
- **Normalisation.** score = (return - random) / (expert - random). *random*: a uniform
  random policy (the evaluator with epsilon 1.0) over the protocol's seeds. *expert*: a
  greedy (continuous tasks: mean-action) checkpoint of the behaviour agent (DQN, or
  the D4PG) over the same seeds, the better of two: the task's logged `noise0` run's
  best checkpoint (by greedy return on held-out seeds, never the protocol's; the policy
  of the task's `expert` datasets) and that of a separately trained run twice as long.
  Exceptions are stated in each reference's `how` (a SAC long run for HalfCheetah,
  `references.LONG_RUN_AGENT`; one candidate where no long run was measured). A
  pending reference is `null` and normalisation refuses to run on it.
- **Atari** (RL Unplugged's games). The environment is ALE under the settings listed
  per protocol (`environment.atari`: sticky actions 0.25, minimal action sets, 4 frames
  per step max-pooled, 84x84 grey, 4 stacked frames, no no-op starts, no life-loss
  terminations, 108,000 frames = 27,000 steps); the observation already is the frame
  stack, so the frame stack above stays 1. Training data: RL Unplugged's own files.
  References: published random and human scores (Badia et al. 2020, Atari-57), recorded
  with `status` published, not measured here; Carnival and Pooyan have none.
- **Continuous tasks** (DM Control Suite, MuJoCo) evaluate the policy's deterministic
  (mean) action, clipped into the bounds, over 1000-step episodes; their protocols also
  record the action bounds and the observation-dict flattening order.
- **Hashes.** `settings_hash` covers everything that decides raw returns; `hash` adds the
  references, because normalised scores depend on them. Submissions name `hash`.
"""


def _max_return(p: protocols_lib.Protocol) -> str:
    """The environment's known maximum return, and the expert reference's share of it."""
    best = p.max_return  # Recorded in the frozen file, outside the hashes.
    if best is None:
        return "none known (the feasible range's top is only a bound)"
    expert = p.references.get("expert", {}).get("value")
    share = f"; the expert reference is {expert / best:.0%} of it" if expert is not None else ""
    return f"{best:g} (the environment's maximum under the episode cap{share})"


def _task_doc(p: protocols_lib.Protocol) -> str:
    c = p.content
    env, ev = c["environment"], c["evaluation"]
    lines = [f"# Protocol {c['protocol']} (version {c['version']})", "",
             f"- hash: `{p.hash}`", f"- settings_hash: `{p.settings_hash}`", "",
             "| setting | value |", "|---|---|"]
    for key in ("domain", "env_id", "num_actions", "sticky_action_prob", "max_episode_steps",
                "frame_stack"):
        lines.append(f"| {key} | `{env[key]}` |")
    lines.append(f"| observation | `{tuple(env['observation']['shape'])} "
                 f"{env['observation']['dtype']}` |")
    for key, value in env.get("atari", {}).items():  # ALE settings (Atari tasks only).
        lines.append(f"| atari.{key} | `{value}` |")
    if "action" in env:  # Continuous tasks: bounds, flattening order, evaluated action.
        action = env["action"]
        lines.append(f"| actions | continuous `{tuple(action['shape'])}` in "
                     f"[{min(action['minimum']):g}, {max(action['maximum']):g}] |")
        keys = ", ".join(f"{k} {tuple(s)}" for k, s in env["observation_keys"])
        lines.append(f"| observation keys (flattening order) | {keys} |")
        lines.append(f"| evaluated action | {ev['policy']} |")
    lo, hi = p.feasible_return_range  # Derived from the registry's reward bounds, not hashed.
    lines += [f"| evaluation episodes | {ev['num_episodes']} |",
              f"| evaluation epsilon | {ev['epsilon']} |",
              f"| feasible return range | [{lo:g}, {hi:g}] (reward bounds x episode cap) |",
              f"| known maximum return | {_max_return(p)} |",
              "", "## References", ""]
    for kind, rec in p.references.items():
        if rec.get("value") is None:
            lines.append(f"- {kind}: **{rec.get('status', 'missing')}**: {rec.get('note', '')}")
        elif rec.get("status") == "published":  # Atari: published scores, not measured.
            lines.append(f"- {kind} ({rec['kind']}): {rec['value']:.6g} ({rec['how']}; "
                         f"source: {rec['source']})")
        else:
            lines.append(f"- {kind}: {rec['value']:.6g} (std {rec['std']:.4g} over "
                         f"{rec['num_episodes']} episodes; {rec['how']}; measured "
                         f"{rec['measured_at']}, package {rec['package_version']})")
    lines += ["", "## Datasets a submission may train on", ""]
    lines += [f"- `{d}`" for d in p.datasets]
    if "source" in c["training_data"]:
        lines += ["", f"Source: {c['training_data']['source']}."]
    lines += ["", "## Evaluation seeds", "", "```", json.dumps(ev["episode_seeds"]), "```", ""]
    return "\n".join(lines)


def render_protocol_docs(root: Path) -> list[Path]:
    """Writes the protocol docs and the protocols JSON under `root`/protocols.

    The submission guide and schema are the leaderboard's
    (`rl_unplugged.leaderboard.docs.render_submission_docs`); `rlu protocols render`
    writes both.
    """
    root = Path(root)
    out_dir = root / "protocols"
    out_dir.mkdir(parents=True, exist_ok=True)
    protocols = protocols_lib.all_protocols()
    written = []
    index = ["# Evaluation protocols", "",
             "Generated by `rlu protocols render`; the frozen source is "
             "`rl_unplugged/evaluation/data/protocols.json` (copied here as `protocols.json`).",
             "", "| task | version | hash | episodes | random | expert |",
             "|---|---|---|---|---|---|"]
    for p in protocols.values():
        fname = p.task_id.replace("/", "-") + ".md"
        fileio.write_text(out_dir / fname, _task_doc(p))
        written.append(out_dir / fname)
        refs = p.references
        fmt = lambda r: (r.get("status", "pending") if r.get("value") is None
                         else f"{r['value']:.4g}")
        index.append(f"| [{p.task_id}]({fname}) | {p.version} | `{p.hash[:12]}` | "
                     f"{p.num_episodes} | {fmt(refs['random'])} | {fmt(refs['expert'])} |")
    index += ["", _CHOICES.format(version=protocols_lib.PROTOCOL_VERSION,
                                  episodes=protocols_lib.NUM_EPISODES,
                                  epsilon=protocols_lib.EVAL_EPSILON,
                                  ret=protocols_lib.RETURN_DEFINITION,
                                  selection=protocols_lib.SELECTION_RULE)]
    fileio.write_text(out_dir / "README.md", "\n".join(index))
    fileio.write_text(out_dir / "protocols.json", protocols_lib.protocols_to_json(protocols))
    written += [out_dir / "README.md", out_dir / "protocols.json"]
    return written
