"""`rlu quickstart`: build a small dataset, train BC and CQL, evaluate, submit, show the board."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

from rl_unplugged import registry
from rl_unplugged.cli import common

DEFAULT_DATASET = "rlu_bsuite/catch_noise30_run0"


def _quickstart(args: argparse.Namespace) -> int:
    from rl_unplugged import baselines, paths
    from rl_unplugged.cli.datasets import build
    from rl_unplugged.leaderboard import board

    spec = registry.get_dataset(args.dataset)
    seeds = {} if args.seeds is None else {"seeds": tuple(range(args.seeds))}
    # Validate every entry's config before any work.
    configs = [baselines.BaselineConfig(
        name=f"quickstart {agent}", agent=agent, track=spec.task.id,
        datasets={spec.task.id: spec.name}, steps=args.steps, **seeds)
        for agent in args.agents]
    configs = [dataclasses.replace(c, description=f"rlu quickstart: {c.agent}, {c.steps} "
                                                  f"updates, {len(c.seeds)} seeds on {spec.name}")
               for c in configs]
    out = Path(args.out)
    root = paths.data_dir(args.data_dir)
    print(f"[1/4] dataset {spec.name} under {root}")
    build(spec, root)
    subs = []
    for i, cfg in enumerate(configs):
        print(f"[{2 + i}/4] {cfg.agent}: train, evaluate under the protocol, make a submission")
        baselines.run(cfg, out / cfg.agent, data_dir=root, progress=True, log=print)
        subs.append(out / cfg.agent / "submission.json")
    board_root = out / "board"
    shutil.rmtree(board_root, ignore_errors=True)
    for path in subs:
        print(f"submitted {board.submit(path, board_root)}")
    print("[4/4] leaderboard")
    board.build_board(board_root)
    print((board_root / "LEADERBOARD.md").read_text())
    print(f"board page: {board_root / 'leaderboard.html'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="build a small dataset, train BC and CQL, evaluate "
                                          "under the protocol, submit, print the leaderboard")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help="dataset to build and train on")
    p.add_argument("--agents", nargs="+", default=["bc", "cql"], help="algorithms to train")
    p.add_argument("--steps", type=int, default=5_000, help="updates per learner")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per algorithm (default: BaselineConfig's; a submission needs "
                        "at least 3)")
    common.data_dir_arg(p)
    p.add_argument("--out", default="rlu_quickstart", help="output directory")
    p.set_defaults(func=_quickstart, needs_tensorflow=True)
