"""Rank-return study (Gulcehre et al. 2022, "An Empirical Study of Implicit Regularization
in Deep Offline RL", TMLR): do srank, effective rank and dormant units at the end of
offline training predict the final return across a hyperparameter sweep?

Trains CQL(H) over double DQN (alpha = 0 is double DQN itself: the same TD loss, no
penalty) on one registered dataset, one vmapped ensemble per torso width (widths change
parameter shapes, so they cannot share an ensemble), sweeping learning rate x alpha x
seeds inside each ensemble. The representation probes (`rl_unplugged.probes`, logged by
`RepresentationProbes` to each run's probes.jsonl) give srank, erank and dormant
fractions over training; every member's final greedy policy is played over the task
protocol's episode seeds (raw returns, not normalised). Writes, under --out:

- members.csv: one row per member (width, lr, alpha, seed, final probes, mean return);
- configs.csv: one row per configuration (mean over seeds);
- correlations.json: Spearman and Pearson of each final probe (and of srank, erank
  divided by the width) with the final return over configurations (percentile bootstrap
  CIs, configurations resampled with replacement), also over members, within each alpha
  and within each width;
- correlations.md: the same as Markdown tables (copied into the README);
- diagnostics.json: seed-to-seed agreement of the returns, return by hyperparameter value,
  srank per width unit against dormant units;
- phases.json: per configuration, the srank curve's shape (see `phase_summary`);
- srank_curves.png, probe_curves.png, scatter.png.

Usage (the committed numbers; baselines/rank_return/README.md has both tasks' commands):

    PYTHONPATH=. nice -n 5 python baselines/rank_return/study.py \\
        --dataset rlu_bsuite/cartpole_noise0_run0 --data-dir /tmp/rankret_data \\
        --steps 20000 --probe-every 1000 --widths 8 16 32 64 \\
        --runs /tmp/rankret_runs_cartpole --out baselines/rank_return/cartpole
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats

from rl_unplugged import fileio, registry
from rl_unplugged.data import loader
from rl_unplugged.evaluation import evaluator, protocols
from rl_unplugged.generation import generate
from rl_unplugged.selection import metrics
from rl_unplugged.training import train

PROBES = ("srank", "erank", "feature_rank", "dormant_0", "dormant_0.025", "dormant_0.1")
# srank and erank are bounded by the width: across widths they partly measure the width.
# Divided by it they compare representations of different sizes (reported beside).
RELATIVE = ("srank", "erank")
CORRELATED = (*PROBES, *(f"{p}_per_width" for p in RELATIVE))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="rlu_bsuite/cartpole_noise0_run0")
    p.add_argument("--data-dir", default="/tmp/rankret_data")
    p.add_argument("--runs", default="/tmp/rankret_runs_cartpole",
                   help="run directories (not committed)")
    p.add_argument("--out", default="baselines/rank_return/cartpole")
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--probe-every", type=int, default=1_000)
    p.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64])
    p.add_argument("--lrs", type=float, nargs="+", default=[3e-5, 3e-4, 3e-3])
    p.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.1, 1.0, 4.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--bootstrap", type=int, default=2_000)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plots-only", action="store_true",
                      help="redraw the plots and correlations.md from --out's files")
    mode.add_argument("--pool", nargs="+", metavar="OUT",
                      help="pool earlier outputs of one sweep with disjoint seeds into --out "
                           "(no training)")
    return p.parse_args(argv)


def train_width(args, data, task, width: int) -> tuple[Path, list[dict], list[dict]]:
    """One ensemble: learning rate x alpha x seeds at one torso width."""
    out_dir = Path(args.runs) / f"width{width}"
    result = train("cql", data, task, steps=args.steps,
                   config={"hidden": (width, width), "batch_size": args.batch_size},
                   seeds=args.seeds, grid={"learning_rate": args.lrs, "alpha": args.alphas},
                   out_dir=out_dir, dataset=args.dataset, probe_every=args.probe_every,
                   log_every=math.gcd(1_000, args.probe_every),
                   checkpoint_every=None, make_plots=False)
    config = json.loads((out_dir / "config.json").read_text())
    return out_dir, config["members"], result.probes


def evaluate_members(run_dir: Path, members: list[dict], protocol) -> list[float]:
    """Mean greedy return of each member over the protocol's episode seeds."""
    returns = []
    for m in members:
        policy = evaluator.load_run_policy(run_dir, member=m["member"], protocol=protocol)
        stats_ = evaluator.run_episodes(policy, protocol.task, protocol.episode_seeds,
                                        epsilon=protocol.epsilon)
        returns.append(float(stats_.returns.mean()))
    return returns


def bootstrap_ci(x: np.ndarray, y: np.ndarray, fn, *, rng: np.random.Generator,
                 samples: int, level: float = 0.95) -> dict[str, float]:
    """fn(x, y) with a percentile CI over rows resampled with replacement (NaN draws,
    e.g. a constant resample, are dropped)."""
    n = len(x)
    draws = np.array([fn(x[i], y[i]) for i in (rng.integers(0, n, n) for _ in range(samples))])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2]) if len(draws) else (np.nan,
                                                                                          np.nan)
    return {"value": fn(x, y), "low": float(lo), "high": float(hi), "n": n}


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.pearsonr(x, y).statistic)


def correlations(rows: list[dict], *, rng: np.random.Generator, samples: int) -> dict:
    ret = np.array([r["return"] for r in rows])
    out = {}
    for probe in CORRELATED:
        x = np.array([r[probe] for r in rows])
        out[probe] = {"spearman": bootstrap_ci(x, ret, metrics.spearman, rng=rng,
                                               samples=samples),
                      "pearson": bootstrap_ci(x, ret, pearson, rng=rng, samples=samples)}
    return out


def phase_summary(steps: np.ndarray, srank: np.ndarray) -> dict:
    """The srank curve's shape against Gulcehre et al.'s three phases.

    Phase 1 (early collapse): srank falls from its initial value to an early minimum;
    phase 2: it rises again from that minimum; phase 3: it falls again to the end. We
    record the initial value, the minimum over the first quarter of training, the
    maximum after that minimum, the final value and which drops/rises exceed 10% of the
    initial srank (a change smaller than that is called flat).
    """
    s0 = float(srank[0])
    quarter = max(2, int(np.searchsorted(steps, steps[-1] / 4, side="right")))
    i_min = int(np.argmin(srank[:quarter]))
    early_min = float(srank[i_min])
    later = srank[i_min:]
    i_max = i_min + int(np.argmax(later))
    peak, final = float(srank[i_max]), float(srank[-1])
    tol = 0.1 * max(s0, 1.0)
    drop1, rise2, drop3 = s0 - early_min > tol, peak - early_min > tol, peak - final > tol
    return {"initial": s0, "early_min": early_min, "early_min_step": int(steps[i_min]),
            "peak_after": peak, "peak_step": int(steps[i_max]), "final": final,
            "early_drop": bool(drop1), "rise": bool(rise2), "late_drop": bool(drop3),
            "three_phases": bool(drop1 and rise2 and drop3)}


def finite(value):
    """JSON-safe: non-finite floats (an undefined correlation) become None."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def _ci(c: dict) -> str:
    if c["value"] is None or not np.isfinite(c["value"]):
        return "n/a"
    return f"{c['value']:+.2f} [{c['low']:+.2f}, {c['high']:+.2f}]"


def markdown_table(result: dict) -> str:
    """The correlations as Markdown: over configurations, over members, within alpha 0."""
    lines = ["| probe (final) | Spearman, configs [95% CI] | Pearson, configs [95% CI] "
             "| Spearman, members [95% CI] |", "|---|---|---|---|"]
    for probe, c in result["over_configs"].items():
        m = result["over_members"][probe]
        lines.append(f"| {probe} | {_ci(c['spearman'])} | {_ci(c['pearson'])} "
                     f"| {_ci(m['spearman'])} |")
    alphas = sorted(result["within_alpha"], key=float)  # JSON sorts the keys as strings.
    widths = sorted(result["within_width"], key=float)
    lines += ["", "Spearman within one slice of the sweep (configurations of that slice):", "",
              "| probe (final) | " + " | ".join(
                  [f"alpha {a}" for a in alphas] + [f"width {w}" for w in widths]) + " |",
              "|---|" + "---|" * (len(alphas) + len(widths))]
    for probe in result["over_configs"]:
        cells = [_ci(result["within_alpha"][a][probe]["spearman"]) for a in alphas]
        cells += [_ci(result["within_width"][w][probe]["spearman"]) for w in widths]
        lines.append(f"| {probe} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, rows: list[dict]) -> None:
    import io
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    fileio.write_text(path, buf.getvalue())


def plots(out: Path, configs: list[dict], curves: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Colour by the return's rank among configurations: one outlier would otherwise paint
    # every other line the same colour. The colour bar is labelled with the returns.
    returns = np.array([c["return"] for c in configs])
    order = np.argsort(np.argsort(returns))
    percentile = {c["key"]: order[i] / max(len(configs) - 1, 1) for i, c in enumerate(configs)}
    norm = matplotlib.colors.Normalize(0, 1)
    cmap = matplotlib.colormaps["viridis"]
    widths = sorted({c["width"] for c in configs})
    tick_at = np.linspace(0, 1, 5)
    tick_labels = [f"{np.quantile(returns, q):.3g}" for q in tick_at]

    def curve_grid(names, path, cols):
        panels = [(name, w) for name in names for w in widths]
        rows = -(-len(panels) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False,
                                 sharex=True, layout="constrained")
        for ax, (name, w) in zip(axes.flat, panels, strict=False):
            for c in configs:
                if c["width"] != w:
                    continue
                steps, values = curves[c["key"]]["step"], curves[c["key"]][name]
                ax.plot(steps, values, color=cmap(percentile[c["key"]]), lw=1.2,
                        ls="-" if c["alpha"] > 0 else "--")
            ax.set_title(f"width {w}: {name}", fontsize=9)
            ax.set_xlabel("updates")
        for ax in list(axes.flat)[len(panels):]:
            ax.axis("off")
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes,
                           label="final return (colour: rank among configurations)")
        bar.set_ticks(tick_at, labels=tick_labels)
        fig.suptitle("one line per configuration (mean over seeds); dashed: alpha 0 "
                     "(double DQN), solid: CQL", fontsize=9)
        fig.savefig(path, dpi=110)
        plt.close(fig)

    curve_grid(["srank"], out / "srank_curves.png", cols=2)
    curve_grid(["erank", "dormant_0.025"], out / "probe_curves.png", cols=len(widths))

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), layout="constrained")
    markers = {w: m for w, m in zip(widths, "os^Dv", strict=False)}
    for ax, probe in zip(axes, ("srank", "erank", "dormant_0.025"), strict=True):
        for c in configs:
            ax.scatter(c[probe], c["return"], marker=markers[c["width"]],
                       c=[np.log10(c["learning_rate"])], cmap="coolwarm", vmin=-5, vmax=-2,
                       edgecolors="k" if c["alpha"] == 0 else "none", s=36)
        ax.set_xlabel(f"final {probe}")
        ax.set_ylabel("final return")
    for w in widths:
        axes[0].scatter([], [], marker=markers[w], color="grey", label=f"width {w}")
    axes[0].legend(fontsize=7)
    fig.colorbar(matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(-5, -2), "coolwarm"),
                 ax=axes, label="log10 learning rate")
    fig.suptitle("one point per configuration (mean over seeds); black edge: alpha 0 "
                 "(double DQN)", fontsize=9)
    fig.savefig(out / "scatter.png", dpi=110)
    plt.close(fig)


def diagnostics(configs: list[dict], members: list[dict]) -> dict:
    """What bounds the correlations: how well one seed's returns rank the configurations
    for another (Spearman between seeds), the return by hyperparameter value, and how
    srank per width unit and dormant units go together."""
    seeds = sorted({r["seed"] for r in members})
    by_seed = {s: {(r["width"], r["learning_rate"], r["alpha"]): r["return"]
                   for r in members if r["seed"] == s} for s in seeds}
    keys = sorted(by_seed[seeds[0]])
    pairs = {f"{a} vs {b}": metrics.spearman(np.array([by_seed[a][k] for k in keys]),
                                             np.array([by_seed[b][k] for k in keys]))
             for i, a in enumerate(seeds) for b in seeds[i + 1:]}
    by_value = {name: {f"{v:g}": {"mean": float(np.mean([c["return"] for c in configs
                                                          if c[name] == v])),
                                  "median": float(np.median([c["return"] for c in configs
                                                             if c[name] == v]))}
                       for v in sorted({c[name] for c in configs})}
                for name in ("width", "learning_rate", "alpha")}
    return {"seed_agreement_spearman": pairs,
            "return_by_hyperparameter": by_value,
            "seed_gap": {"median": float(np.median([c["return_max"] - c["return_min"]
                                                    for c in configs]))},
            "srank_per_width_vs_dormant_0.025_spearman": metrics.spearman(
                np.array([c["srank_per_width"] for c in configs]),
                np.array([c["dormant_0.025"] for c in configs]))}


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        rows = [{k: v if k == "key" else float(v) if v not in ("True", "False")
                 else v == "True" for k, v in row.items()} for row in csv.DictReader(f)]
    for r in rows:
        r["width"] = int(r["width"])
        if "seed" in r:
            r["seed"] = int(r["seed"])
    return rows


def replot(out: Path) -> None:
    """Plots, correlations.md and diagnostics.json again from configs.csv, members.csv,
    curves.json and correlations.json."""
    configs, members = _read_csv(out / "configs.csv"), _read_csv(out / "members.csv")
    fileio.write_json(out / "diagnostics.json", finite(diagnostics(configs, members)))
    curves = {k: {n: np.array(v, np.float64) for n, v in c.items()}
              for k, c in json.loads((out / "curves.json").read_text()).items()}
    fileio.write_text(out / "correlations.md", markdown_table(
        json.loads((out / "correlations.json").read_text())))
    plots(out, configs, curves)


def main(argv=None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    if args.plots_only:
        replot(out)
        return
    if args.pool:  # Creates --out only once the sources are accepted.
        pool(out, [Path(p) for p in args.pool], bootstrap=args.bootstrap)
        return
    out.mkdir(parents=True, exist_ok=True)
    spec = registry.get_dataset(args.dataset)
    task = spec.task
    protocol = protocols.get_protocol(task.id)
    t0 = time.perf_counter()
    data = loader.load_transitions(spec, args.data_dir, build=True, generate=generate)
    timings = {"data_s": time.perf_counter() - t0}

    members, curves_by_member = [], {}
    for width in args.widths:
        t = time.perf_counter()
        run_dir, run_members, probe_rows = train_width(args, data, task, width)
        timings[f"train_width{width}_s"] = time.perf_counter() - t
        t = time.perf_counter()
        returns = evaluate_members(run_dir, run_members, protocol)
        timings[f"eval_width{width}_s"] = time.perf_counter() - t
        for m, ret in zip(run_members, returns, strict=True):
            rows = sorted((r for r in probe_rows if r["member"] == m["member"]),
                          key=lambda r: r["step"])
            key = (width, m["grid"]["learning_rate"], m["grid"]["alpha"], m["seed"])
            curves_by_member[key] = {name: np.array([r[name] for r in rows])
                                     for name in ("step", *PROBES)}
            final = rows[-1]
            members.append({"width": width, "learning_rate": m["grid"]["learning_rate"],
                            "alpha": m["grid"]["alpha"], "seed": m["seed"],
                            "final_step": final["step"],
                            **{p: final[p] for p in PROBES},
                            **{f"{p}_per_width": final[p] / width for p in RELATIVE},
                            "return": ret})

    configs = configurations(members)
    curves = {}
    for c in configs:
        member_curves = [v for k, v in curves_by_member.items()
                         if k[:3] == (c["width"], c["learning_rate"], c["alpha"])]
        curves[c["key"]] = {name: np.mean([m[name] for m in member_curves], axis=0)
                            for name in ("step", *PROBES)}
    meta = {"dataset": args.dataset, "task": task.id, "agent": "cql (alpha 0 = double DQN)",
            "steps": args.steps, "probe_every": args.probe_every,
            "batch_size": args.batch_size, "widths": args.widths,
            "learning_rates": args.lrs, "alphas": args.alphas, "seeds": args.seeds,
            "episodes_per_member": len(protocol.episode_seeds),
            "protocol": {"id": protocol.content["protocol"], "version": protocol.version}}
    summarise(out, meta, members, configs, curves, bootstrap=args.bootstrap,
              max_return=task.max_return, timings=timings)


def configurations(members: list[dict]) -> list[dict]:
    """One row per (width, learning rate, alpha): the mean over its seeds (members) of the
    final probes and the return, with the seeds' count and the return's range."""
    configs = []
    for key in sorted({(r["width"], r["learning_rate"], r["alpha"]) for r in members}):
        rows = [r for r in members if (r["width"], r["learning_rate"], r["alpha"]) == key]
        configs.append({"key": "w{}_lr{:g}_a{:g}".format(*key), "width": key[0],
                        "learning_rate": key[1], "alpha": key[2], "seeds": len(rows),
                        **{p: float(np.mean([r[p] for r in rows])) for p in CORRELATED},
                        "return": float(np.mean([r["return"] for r in rows])),
                        "return_min": min(r["return"] for r in rows),
                        "return_max": max(r["return"] for r in rows)})
    return configs


def summarise(out: Path, meta: dict, members: list[dict], configs: list[dict],
              curves: dict, *, bootstrap: int, max_return: float | None,
              timings: dict | None = None) -> dict:
    """Correlations, phases and diagnostics of a finished sweep; writes every output file.

    Args:
      out: the output directory (exists).
      meta: the sweep's settings (`POOLED_SETTINGS` and `seeds`), copied into
        correlations.json.
      members: one row per member (final probes and return); configs: `configurations`
        of them; curves: {config key: {"step" and each probe: the mean curve}}.
      bootstrap: resamples of each CI; max_return: the task's known maximum, or None;
      timings: seconds per phase, recorded when given.
    Returns:
      The correlations.json content.
    """
    rng = np.random.default_rng(0)
    result = {
        **meta, "bootstrap_samples": bootstrap,
        "over_configs": correlations(configs, rng=rng, samples=bootstrap),
        "over_members": correlations(members, rng=rng, samples=bootstrap),
        "within_alpha": {f"{a:g}": correlations([c for c in configs if c["alpha"] == a],
                                                rng=rng, samples=bootstrap)
                         for a in meta["alphas"]},
        "within_width": {str(w): correlations([c for c in configs if c["width"] == w],
                                              rng=rng, samples=bootstrap)
                         for w in meta["widths"]},
        "return_spread": {"configs_at_max": sum(c["return"] >= (max_return or np.inf)
                                                for c in configs),
                          "min": min(c["return"] for c in configs),
                          "max": max(c["return"] for c in configs),
                          "n_configs": len(configs)},
    }
    phases = {c["key"]: phase_summary(np.asarray(curves[c["key"]]["step"]),
                                      np.asarray(curves[c["key"]]["srank"]))
              for c in configs}
    for c in configs:
        c.update({f"phase_{k}": v for k, v in phases[c["key"]].items()
                  if k in ("early_drop", "rise", "late_drop", "three_phases")})
    result["phases"] = {k: sum(p[k] for p in phases.values())
                        for k in ("early_drop", "rise", "late_drop", "three_phases")}
    if timings is not None:
        result["timings_s"] = {k: round(v, 1) for k, v in timings.items()}

    write_csv(out / "members.csv", members)
    write_csv(out / "configs.csv", configs)
    fileio.write_json(out / "correlations.json", finite(result))
    fileio.write_text(out / "correlations.md", markdown_table(finite(result)))
    fileio.write_json(out / "diagnostics.json", finite(diagnostics(configs, members)))
    fileio.write_json(out / "phases.json", finite(phases))
    fileio.write_json(out / "curves.json", finite({k: {n: np.asarray(v).tolist()
                                                       for n, v in c.items()}
                                                   for k, c in curves.items()}))
    plots(out, configs, curves)
    return result


# What must agree for runs to be pooled: the same sweep on the same data and protocol.
POOLED_SETTINGS = ("dataset", "task", "agent", "steps", "probe_every", "batch_size",
                   "widths", "learning_rates", "alphas", "episodes_per_member", "protocol")


def pool(out: Path, sources: list[Path], *, bootstrap: int) -> dict:
    """One analysis of several runs of the same sweep with disjoint seeds (separate
    invocations, e.g. one seed each): members concatenated, configurations averaged over
    all their seeds, curves averaged weighted by each run's seeds per configuration.

    Args:
      out: the pooled output directory (created once the sources are accepted).
      sources: two or more study outputs (`--out` directories).
      bootstrap: resamples of each CI.
    Returns:
      The pooled correlations.json content.
    Raises:
      FileNotFoundError: a source is not a study output.
      ValueError: fewer than two sources, sweeps that differ (or lack a setting),
        overlapping seeds, or members that are not configurations x seeds.
    """
    if len(sources) < 2:
        raise ValueError(f"--pool needs at least two study outputs, got {len(sources)}")
    metas, all_members, weighted = [], [], {}
    for src in sources:
        files = [src / n for n in ("correlations.json", "members.csv", "configs.csv",
                                   "curves.json")]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"--pool {src}: not a study output, missing {missing}")
        metas.append(json.loads(files[0].read_text()))
        all_members += _read_csv(files[1])
        seeds_of = {c["key"]: int(c["seeds"]) for c in _read_csv(files[2])}
        for key, c in json.loads(files[3].read_text()).items():
            weighted.setdefault(key, []).append((seeds_of[key], c))
    for src, meta in zip(sources, metas, strict=True):
        missing = [k for k in (*POOLED_SETTINGS, "seeds") if k not in meta]
        if missing:
            raise ValueError(f"--pool: {src}/correlations.json lacks {missing} (an older "
                             "study output?): re-run or re-plot it first")
    for src, meta in zip(sources[1:], metas[1:], strict=True):
        differ = [k for k in POOLED_SETTINGS if meta[k] != metas[0][k]]
        if differ:
            raise ValueError(f"--pool: {src} ran another sweep than {sources[0]} "
                             f"(differs in {differ}); only runs of one sweep can be pooled")
    seeds = [s for m in metas for s in m["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--pool: the runs' seeds overlap ({seeds}); pooling them would "
                         "count one member twice")
    configs = configurations(all_members)
    if len(configs) * len(seeds) != len(all_members):
        raise ValueError(f"--pool: {len(all_members)} members are not {len(configs)} "
                         f"configurations x {len(seeds)} seeds")
    curves = {}
    for c in configs:
        parts = weighted[c["key"]]
        total = sum(w for w, _ in parts)
        curves[c["key"]] = {name: sum(w * np.asarray(part[name], np.float64)
                                      for w, part in parts) / total
                            for name in ("step", *PROBES)}
    meta = {k: metas[0][k] for k in POOLED_SETTINGS}
    meta["seeds"] = sorted(seeds)
    meta["pooled_from"] = [str(s) for s in sources]
    out.mkdir(parents=True, exist_ok=True)
    return summarise(out, meta, all_members, configs, curves, bootstrap=bootstrap,
                     max_return=registry.get_task(meta["task"]).max_return)


if __name__ == "__main__":
    main()
