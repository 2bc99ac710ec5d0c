"""Rendered, human-readable protocol docs for the `evaluation/` content folder."""

from __future__ import annotations

import json
from pathlib import Path

from rl_unplugged import fileio
from rl_unplugged.evaluation import protocols as protocols_lib
from rl_unplugged.leaderboard.submission_schema import (
    MAX_FILE_BYTES,
    MIN_RUNS,
    SCHEMA_FILE,
    TRACKS,
    schema_text,
)

_CHOICES = """\
## Choices common to every protocol (version {version})

- **Episodes and seeds.** {episodes} evaluation episodes per run, each reset from a
  fixed seed listed in the protocol (31-bit, `sha256("rl_unplugged/evaluation|<task>|<i>")`,
  independent of the dataset-generation seeds). With 100 episodes the standard error of a
  run's mean is a tenth of the return's spread, small next to the run-to-run spread that
  the aggregate CIs measure; the cost stays below 10^6 steps per run.
- **Evaluation epsilon {epsilon}** (greedy). Resets are seeded and MinAtar keeps its sticky
  actions, so the tasks are already stochastic; every episode is capped. When a protocol
  uses epsilon > 0, the random actions come from `numpy.random.default_rng(episode_seed)`,
  so results do not depend on batching.
- **Frame stack 1.** The observations of these tasks are (near) Markov and the datasets
  store single observations.
- **Return.** {ret}.
- **Training data.** Only the task's own datasets (listed per protocol).
- **Policy selection.** {selection}
- **Normalisation.** score = (return - random) / (expert - random). *random*: a uniform
  random policy (the evaluator with epsilon 1.0) over the protocol's seeds. *expert*: the
  greedy best checkpoint (by logged return) of the task's logged behaviour DQN over the
  same seeds: the policy of the task's `expert` datasets. A
  pending reference is `null` and normalisation refuses to run on it.
- **Hashes.** `settings_hash` covers everything that decides raw returns; `hash` adds the
  references, because normalised scores depend on them. Submissions name `hash`.
"""


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
    lo, hi = p.feasible_return_range  # Derived from the registry's reward bounds, not hashed.
    lines += [f"| evaluation episodes | {ev['num_episodes']} |",
              f"| evaluation epsilon | {ev['epsilon']} |",
              f"| feasible return range | [{lo:g}, {hi:g}] (reward bounds x episode cap) |",
              "", "## References", ""]
    for kind, rec in p.references.items():
        if rec.get("value") is None:
            lines.append(f"- {kind}: **{rec.get('status', 'missing')}**: {rec.get('note', '')}")
        else:
            lines.append(f"- {kind}: {rec['value']:.6g} (std {rec['std']:.4g} over "
                         f"{rec['num_episodes']} episodes; {rec['how']}; measured "
                         f"{rec['measured_at']}, package {rec['package_version']})")
    lines += ["", "## Datasets a submission may train on", ""]
    lines += [f"- `{d}`" for d in p.datasets]
    lines += ["", "## Evaluation seeds", "", "```", json.dumps(ev["episode_seeds"]), "```", ""]
    return "\n".join(lines)


_SUBMISSIONS = """\
# Submitting to the rl_unplugged leaderboard

A submission is one JSON file following `schemas/{schema}` (JSON Schema 2020-12, also
shipped in the package as `rl_unplugged/leaderboard/schemas/{schema}`).

    rlu leaderboard validate my-entry.json --root evaluation
    rlu leaderboard submit my-entry.json          # copies it to evaluation/submissions/
    rlu leaderboard build                         # LEADERBOARD.md, leaderboard.html, plots/

Rules checked beyond the schema (each failure names the JSON path of the field):
- file at most {size} bytes, UTF-8, no duplicate keys, only finite numbers;
- `track` one of {tracks}; every task of the track present under `results`, no others;
- per task: `protocol_hash` and `protocol_version` of the task's current protocol
  (`rlu protocols list`); datasets among the protocol's allowed datasets;
- at least {min_runs} runs per task, the same number on every task, unique run seeds;
- per run: `episode_seeds` exactly the protocol's seeds in order, one return per seed,
  each inside the task's feasible return range (its reward bounds times the episode cap,
  listed in each protocol's doc);
- `selection.method` `final`, or `offline` with the method's `name`; never selection on
  evaluation-environment returns;
- no control characters (tabs and newlines allowed in `description`) and no
  bidirectional embedding, override or isolate characters (U+202A-U+202E, U+2066-U+2069)
  in any string;
- entry names unique on the board (case- and whitespace-insensitive).
"""


def render_protocol_docs(root: Path) -> list[Path]:
    """Writes protocol docs, the protocols JSON and the schema under `root`."""
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
        fmt = lambda r: "pending" if r.get("value") is None else f"{r['value']:.4g}"
        index.append(f"| [{p.task_id}]({fname}) | {p.version} | `{p.hash[:12]}` | "
                     f"{p.num_episodes} | {fmt(refs['random'])} | {fmt(refs['expert'])} |")
    index += ["", _CHOICES.format(version=protocols_lib.PROTOCOL_VERSION,
                                  episodes=protocols_lib.NUM_EPISODES,
                                  epsilon=protocols_lib.EVAL_EPSILON,
                                  ret=protocols_lib.RETURN_DEFINITION,
                                  selection=protocols_lib.SELECTION_RULE)]
    fileio.write_text(out_dir / "README.md", "\n".join(index))
    fileio.write_text(out_dir / "protocols.json", protocols_lib.protocols_to_json(protocols))
    fileio.write_text(root / "schemas" / SCHEMA_FILE, schema_text())
    fileio.write_text(root / "SUBMISSIONS.md", _SUBMISSIONS.format(
        schema=SCHEMA_FILE, size=MAX_FILE_BYTES, tracks=", ".join(TRACKS), min_runs=MIN_RUNS))
    written += [out_dir / "README.md", out_dir / "protocols.json",
                root / "schemas" / SCHEMA_FILE, root / "SUBMISSIONS.md"]
    return written
