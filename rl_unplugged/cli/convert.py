"""`rlu convert DOMAIN --src PATH --out DIR`: RL Unplugged's original files into a store.

The files are read by `rl_unplugged.data.rlu_originals` (a `Source` per suite) and
written through the one door (`data.materialize`, with the task recorded). The store
directory exports like any dataset (`rlu datasets export DIR --to npz FILE`); written
as `--out <data_dir>/rlu_imported/NAME` it is also the imported dataset NAME, which
`rlu train --dataset NAME` and `load_transitions(NAME)` open. The alignment changes
are in `datasets/interchange.md`.
"""

from __future__ import annotations

import argparse

from rl_unplugged.errors import ConfigError

# The source class each domain must give (a path of another suite is refused).
_CLASSES = {"atari": "AtariSource", "control_suite": "ControlSuiteSource",
            "locomotion": "LocomotionSource", "bsuite": "BsuiteSource",
            "dmlab": "DMLabSource", "rwrl": "RWRLSource"}


def convert(domain: str, src: str, out: str, *, task: str | None = None,
            game: str | None = None, run: str | None = None,
            sequence_length: int | None = None, challenge: str | None = None,
            num_actions: int | None = None, camera: bool = False):
    """Converts one RL Unplugged dataset into a store at `out`; returns the `Store`.

    Raises:
      UnknownNameError: an unknown domain or task. ConfigError: a path of another
        suite, or missing --game/--task/--run. NotFoundError: no shards.
      CorruptDataError: damaged files (names the file and the field).
    """
    from rl_unplugged.data import imported, rlu_originals

    path = rlu_originals.original_path(domain, src, task=task, game=game, run=run,
                                       sequence_length=sequence_length, challenge=challenge)
    source = rlu_originals.open_original(path, num_actions=num_actions, camera=camera)
    if type(source).__name__ != _CLASSES[domain]:
        raise ConfigError(f"--src {path}: holds {type(source).__name__.removesuffix('Source')} "
                          f"data, not {domain}")
    return imported.materialize_recorded(source, out)


def _convert(args: argparse.Namespace) -> int:
    store = convert(args.domain, args.src, args.out, task=args.task, game=args.game,
                    run=args.run, sequence_length=args.seq, challenge=args.challenge,
                    num_actions=args.num_actions, camera=args.camera)
    print(f"converted {store.source.get('uri')} ({store.num_episodes:,} episodes, "
          f"{store.num_transitions:,} transitions) into {store.directory}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert RL Unplugged's original files into a store",
                       description=__doc__.splitlines()[0])
    p.add_argument("domain", choices=sorted(_CLASSES), help="the RL Unplugged suite")
    p.add_argument("--src", required=True,
                   help="the dataset's directory (or prefix), or with --task/--game a copy of "
                        "the bucket (local or gs://) or of its suite directory")
    p.add_argument("--out", required=True, help="the store directory to write")
    p.add_argument("--task", default=None,
                   help="control_suite/locomotion/dmlab task, bsuite environment, or rwrl "
                        "DOMAIN/TASK (e.g. cartpole/realworld_swingup)")
    p.add_argument("--game", default=None, help="Atari game, e.g. Pong")
    p.add_argument("--run", default=None,
                   help="Atari run number (default 1), bsuite SEED_NOISE (e.g. 0_0.1), dmlab "
                        "run (e.g. training_0), rwrl difficulty (default --challenge)")
    p.add_argument("--seq", type=int, default=None,
                   help="locomotion sequence length directory seq<L> (default: the loader's)")
    p.add_argument("--challenge", default=None, help="rwrl combined challenge (default easy)")
    p.add_argument("--num-actions", type=int, default=None,
                   help="Atari action set size (default 18, ALE's full set)")
    p.add_argument("--camera", action="store_true",
                   help="locomotion: also read the egocentric camera (into the flat observation)")
    p.set_defaults(func=_convert, needs_tensorflow=True)
