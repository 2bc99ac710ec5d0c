"""`rlu datasets ...`: list the registry (build and inspect come with the builders)."""

from __future__ import annotations

import argparse

from rl_unplugged import registry


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rl_unplugged tasks (configs: <task>_<level>_run<k>)")
    for col in ("builder", "task", "env", "obs", "actions", "time limit", "runs",
                "steps/dataset", "levels"):
        table.add_column(col)
    for t in registry.tasks(args.domain):
        table.add_row(f"rlu_{t.domain}", t.name, t.env_id,
                      f"{t.observation.shape} {t.observation.dtype}", str(t.num_actions),
                      str(t.max_episode_steps), str(t.num_runs), f"{t.behaviour.num_steps:,}",
                      "noise0..noise50, random, expert")
    Console(width=160).print(table)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("datasets", help="list, build and inspect datasets")
    dsub = parser.add_subparsers(dest="datasets_command", required=True)
    p = dsub.add_parser("list", help="print the task and dataset registry")
    p.add_argument("--domain", default=None, help="only this domain")
    p.set_defaults(func=_list)
