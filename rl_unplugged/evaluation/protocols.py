"""Frozen, versioned evaluation protocols, one per registered task.

A protocol fixes everything that decides an evaluation score: the environment and
its settings (sticky actions, episode cap, frame stack), the evaluation epsilon, the
number of evaluation episodes and their seeds, the normalisation references, the data
a submission may train on, and how the evaluated policy may be selected.

Protocols are *derived* from the task registry (`derive_protocols`) and *frozen* in
the package-data file `rl_unplugged/evaluation/data/protocols.json`, which is what
`get_protocol` serves; a test checks that derivation and frozen file agree, so a change
to the registry or the references cannot silently move a published protocol.

Each protocol carries two content hashes (sha256 of canonical JSON):
  - `settings_hash`: everything that decides the raw returns (environment, episodes,
    seeds, epsilon, training data, selection rule). Raw results recorded under one
    settings hash stay comparable whatever happens to the references.
  - `hash`: the settings plus the normalisation references. Normalised scores depend
    on the references, so they are part of the identity of the protocol a leaderboard
    entry is scored under; measuring a pending reference therefore changes `hash`.

Choices (documented in the rendered docs under `evaluation/protocols/`):
  - 100 evaluation episodes on every task: the per-run mean over 100 episodes has a
    standard error of at most a tenth of the return's standard deviation, which is
    small next to the run-to-run spread rliable's bootstrap measures, and it costs at
    most 10^6 environment steps per run (MinAtar's cap is 10,000 steps).
  - Evaluation epsilon 0.0 (greedy): every task is already stochastic through its
    seeded resets (and MinAtar's sticky actions), every episode is capped, so the
    Atari habit of epsilon 0.001 (breaking deterministic loops) buys nothing here and
    would add a second source of randomness.
  - Frame stack 1: bsuite, MinAtar and the classic tasks are (near) Markov in a single
    observation, and the datasets store single observations.
  - Atari (`environment.atari`, `registry.ATARI_SETTINGS`): the task's observation is
    already the stack of 4 preprocessed frames (84x84 grey) that RL Unplugged's files
    store, so `frame_stack` (stacking by the evaluator on top of the observation) stays 1;
    sticky actions 0.25 and the 27,000-step (108,000-frame) cap are the environment's.
    Its training data are RL Unplugged's files (`training_data.source`) and its
    references are published random and human scores (`atari_references.py`), recorded
    with `status` 'published' and how they were obtained.
  - Continuous tasks (DM Control Suite, gymnasium MuJoCo): the policy's deterministic
    mean action (`CONTINUOUS_POLICY`), 1000-step episodes (the suite's own length),
    seeded like every task; their protocols also record the action bounds and the
    observation flattening order (absent from discrete protocols, whose hashes are
    therefore unchanged).

The rules a protocol imposes on what is evaluated and reported are its methods, used
by both the evaluator and submission validation: `check_datasets`, `check_selection`,
`check_returns` (count, finiteness and the feasible range) and `check_run` (a run
directory's task and dataset). The feasible return range is not part of the hashed
content: it is derived from the registry's reward bounds (`TaskSpec.rewards`) and the
protocol's episode cap, so declaring it left every published hash unchanged. The known
maximum return (its top, where attainable: CartPole-v1 500, bsuite catch 1) is recorded
in the frozen file as `max_return`, beside the hashes and outside them (`UNHASHED`),
and a protocol whose recorded value disagrees with the registry's refuses to load.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from rl_unplugged import registry
from rl_unplugged.errors import ConfigError, IncompatibleError, UnknownNameError
from rl_unplugged.specs import TaskSpec

PROTOCOL_VERSION = 2
NUM_EPISODES = 100
EVAL_EPSILON = 0.0
FRAME_STACK = 1
SELECTION_METHODS = ("final", "offline")
SELECTION_RULE = (
    "'final': the last checkpoint of training. 'offline': a checkpoint chosen by an "
    "offline selection method that uses only the task's allowed datasets; the method "
    "must be named in the submission. Selecting on returns from the evaluation "
    "environment (or any online rollout) is not allowed.")
# v1 drew epsilon actions from `default_rng(episode_seed)`, the PCG64 stream the
# environment's own reset(seed) uses; v2 spawns an independent child stream.
EPSILON_RNG = ("per episode: numpy.random.default_rng(numpy.random.SeedSequence(episode_seed)"
               ".spawn(1)[0]), a stream independent of the environment's reset(seed=episode_seed)")
RETURN_DEFINITION = "undiscounted sum of the environment's raw rewards over one episode"
# Tasks whose datasets are not built here (Atari) name the original files' datasets.
EXTERNAL_DATA = ("RL Unplugged's original files of the task (Gulcehre et al. 2020), "
                 "read through rl_unplugged.data.rlu_originals (`rlu-gcs:<root>/<Game>/"
                 "run_<n>`) and named as TFDS names them; no dataset is built here")
_SEED_SALT = "rl_unplugged/evaluation"
CONTINUOUS_POLICY = (
    "the deterministic (mean) action of the policy (a learner's `act`: tanh of the "
    "Gaussian mean, or the deterministic actor's output), clipped into the action bounds; "
    "no exploration noise")

PROTOCOLS_FILE = "protocols.json"
REFERENCES_FILE = "references.json"


def canonical_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, NaN refused) used for content hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def field_path(parts: Iterable[Any]) -> str:
    """A JSON path naming a field: ('results', 'bsuite/catch', 'runs', 0) ->
    '$.results["bsuite/catch"].runs[0]'."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}"
        else:
            out += f"[{json.dumps(str(p))[:80]}]"
    return out


def _short(value: Any) -> str:
    """A value for a message, never echoed in full (it may be huge or hostile)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


class ProtocolViolation(ConfigError):
    """What was evaluated or reported breaks a protocol rule.

    Attributes:
      field: path of the offending field, e.g. ('returns', 3) (`field_path` renders it).
      reason: the rule broken, naming the value.
    """

    def __init__(self, field: Sequence[Any], reason: str):
        self.field = tuple(field)
        self.reason = reason
        super().__init__(f"{field_path(self.field)}: {reason}")


def check_returns(returns: Sequence[Any], *, num_episodes: int,
                  feasible: tuple[float, float], task_id: str,
                  field: Sequence[Any] = ("returns",)) -> None:
    """`num_episodes` finite numbers inside `feasible` (see `Protocol.check_returns`)."""
    if len(returns) != num_episodes:
        raise ProtocolViolation(field, f"{len(returns)} returns for {num_episodes} episode "
                                f"seeds of the protocol of {task_id}")
    lo, hi = feasible
    for i, value in enumerate(returns):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolViolation((*field, i), f"{_short(value)} is not a number")
        try:
            ok = math.isfinite(value) and lo <= value <= hi
        except OverflowError:  # An int beyond float64.
            ok = False
        if not ok:
            raise ProtocolViolation((*field, i), f"{_short(value)} is outside the feasible "
                                    f"range [{lo:g}, {hi:g}] of {task_id}")


def episode_seeds(task_id: str, num_episodes: int = NUM_EPISODES) -> list[int]:
    """Evaluation seeds of a task: 31-bit, a pure function of (task id, index).

    Derived from a salted sha256, so they do not follow the dataset generation
    seeds (`DatasetSpec.seed`) and every backend accepts them (bsuite needs < 2**32).
    """
    seeds = []
    for i in range(num_episodes):
        digest = hashlib.sha256(f"{_SEED_SALT}|{task_id}|{i}".encode()).digest()
        seeds.append(int.from_bytes(digest[:4], "little") & 0x7FFFFFFF)
    if len(set(seeds)) != len(seeds):  # Astronomically unlikely; checked all the same.
        raise ValueError(f"evaluation seeds of {task_id} collide")
    return seeds


# Keys of a protocol's content outside both hashes: the hashes themselves, and the known
# maximum return (recorded for readers, checked against the registry on load; hashing it
# would have moved every published hash when it was added).
UNHASHED = ("hash", "settings_hash", "max_return")


class Protocol:
    """One frozen protocol: a read-only view over its JSON content.

    Attributes mirror the JSON (see `evaluation/protocols/*.md`); `content` returns a
    deep copy of the whole record.
    """

    def __init__(self, content: Mapping[str, Any]):
        self._content = copy.deepcopy(dict(content))
        body = {k: v for k, v in self._content.items() if k not in UNHASHED}
        settings = {k: v for k, v in body.items() if k != "references"}
        if self._content.get("settings_hash") != content_hash(settings):
            raise ValueError(f"protocol {self._content.get('task')!r}: settings_hash does "
                             "not match its content")
        if self._content.get("hash") != content_hash(body):
            raise ValueError(f"protocol {self._content.get('task')!r}: hash does not match "
                             "its content")
        if "max_return" in self._content and self._content["max_return"] != self.max_return:
            raise ValueError(f"protocol {self.task_id!r}: recorded max_return "
                             f"{self._content['max_return']!r} disagrees with the registry's "
                             f"reward bounds ({self.max_return!r}); re-freeze the protocols")

    @property
    def content(self) -> dict[str, Any]:
        return copy.deepcopy(self._content)

    @property
    def task_id(self) -> str:
        return self._content["task"]

    @property
    def task(self) -> TaskSpec:
        return registry.get_task(self.task_id)

    @property
    def version(self) -> int:
        return self._content["version"]

    @property
    def hash(self) -> str:
        return self._content["hash"]

    @property
    def settings_hash(self) -> str:
        return self._content["settings_hash"]

    @property
    def num_episodes(self) -> int:
        return self._content["evaluation"]["num_episodes"]

    @property
    def episode_seeds(self) -> list[int]:
        return list(self._content["evaluation"]["episode_seeds"])

    @property
    def epsilon(self) -> float:
        return self._content["evaluation"]["epsilon"]

    @property
    def frame_stack(self) -> int:
        return self._content["environment"]["frame_stack"]

    @property
    def datasets(self) -> list[str]:
        return list(self._content["training_data"]["datasets"])

    @property
    def references(self) -> dict[str, Any]:
        return copy.deepcopy(self._content["references"])

    @property
    def max_episode_steps(self) -> int:
        return self._content["environment"]["max_episode_steps"]

    @property
    def selection_methods(self) -> tuple[str, ...]:
        return tuple(self._content["selection"]["methods"])

    @property
    def feasible_return_range(self) -> tuple[float, float]:
        """[lowest, highest] undiscounted return an episode can have under this protocol.

        The task's per-step reward bounds (registry, `TaskSpec.rewards`) times the
        protocol's episode cap; (-inf, inf) for a task without recorded bounds. Derived
        at use, not hashed: see the module docstring.
        """
        rewards = self.task.rewards
        if rewards is None:
            return (-math.inf, math.inf)
        return rewards.return_range(self.max_episode_steps)

    @property
    def max_return(self) -> float | None:
        """The environment's known maximum return under this protocol's episode cap.

        The top of `feasible_return_range` where the registry marks it attainable
        (`TaskSpec.max_return`: CartPole-v1 500, bsuite catch 1); None where only a
        bound is known. Derived from the registry; the frozen file records it too, outside
        the hashes (`UNHASHED`), and loading checks that the two agree.
        """
        rewards = self.task.rewards
        return None if rewards is None else rewards.max_return(self.max_episode_steps)

    def check_datasets(self, names: Iterable[str], field: Sequence[Any] = ("datasets",)
                       ) -> None:
        """Raises ProtocolViolation at `field[i]` for a name the protocol does not allow.

        A trailing ':VERSION' is ignored, as tfds does.
        """
        allowed = set(self.datasets)
        for i, name in enumerate(names):
            if not isinstance(name, str) or name.split(":")[0] not in allowed:
                raise ProtocolViolation((*field, i), f"dataset {_short(name)} is not allowed "
                                        f"by the protocol of {self.task_id}")

    def check_selection(self, method: Any, name: Any = None,
                        field: Sequence[Any] = ("selection",)) -> dict[str, Any]:
        """Checks how the evaluated checkpoint was selected; returns {method, name}.

        Raises:
          ProtocolViolation: an unknown method, 'offline' without the name of the
            offline selection method, or 'final' with one.
        """
        if method not in self.selection_methods:
            raise ProtocolViolation((*field, "method"), f"selection method {_short(method)} "
                                    f"is not one of {list(self.selection_methods)}")
        if method == "offline" and not name:
            raise ProtocolViolation((*field, "name"), "selection method 'offline' needs the "
                                    "name of the offline selection method (e.g. 'sbv')")
        if method == "final" and name:
            raise ProtocolViolation((*field, "name"), "selection method 'final' takes no name")
        return {"method": method, "name": name}

    def check_returns(self, returns: Sequence[Any], field: Sequence[Any] = ("returns",)
                      ) -> None:
        """Checks reported per-episode returns: one per protocol episode, each a finite
        number inside `feasible_return_range`.

        Raises:
          ProtocolViolation: naming `field` (or `field[i]`) and the value.
        """
        check_returns(returns, num_episodes=self.num_episodes,
                      feasible=self.feasible_return_range, task_id=self.task_id, field=field)

    def check_run(self, task_id: str, dataset: str | None = None, *,
                  source: str = "the run") -> None:
        """Refuses a policy trained on another task, or on data the protocol disallows.

        Args:
          task_id: the task the run was trained on (a run directory's config.json).
          dataset: the dataset it was trained on, if recorded.
          source: names the run in the message (e.g. its directory).

        Raises:
          IncompatibleError: one line naming the run's task/dataset and this protocol.
        """
        here = self.task
        try:
            run_task = registry.get_task(task_id)
        except UnknownNameError:
            raise IncompatibleError(f"{source} was trained on unknown task {task_id!r}; it "
                                    f"cannot be evaluated on {self.task_id}") from None
        if run_task.id != here.id:
            diffs = []
            if run_task.observation != here.observation:
                diffs.append(f"observation {run_task.observation.shape} "
                             f"{run_task.observation.dtype} vs {here.observation.shape} "
                             f"{here.observation.dtype}")
            if run_task.action != here.action:
                diffs.append(f"actions {run_task.action.describe()} vs "
                             f"{here.action.describe()}")
            raise IncompatibleError(
                f"{source} was trained on {run_task.id} (dataset {dataset}), not "
                f"{self.task_id}: " + ("; ".join(diffs) or "a different task"))
        if dataset is not None and str(dataset).split(":")[0] not in set(self.datasets):
            raise IncompatibleError(f"{source} was trained on dataset {dataset!r}, which the "
                                    f"protocol of {self.task_id} does not allow")

    def __repr__(self) -> str:
        return f"Protocol({self.task_id!r}, v{self.version}, {self.hash[:12]})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Protocol) and other._content == self._content

    def __hash__(self) -> int:
        return hash(self.hash)


def settings(task: TaskSpec | str, *, num_episodes: int = NUM_EPISODES,
             epsilon: float = EVAL_EPSILON) -> dict[str, Any]:
    """The returns-deciding part of a task's protocol (no references, no hashes)."""
    if isinstance(task, str):
        task = registry.get_task(task)
    if num_episodes < 1:
        raise ValueError("num_episodes must be >= 1")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    content = {
        "protocol": f"rlu-eval/{task.id}",
        "version": PROTOCOL_VERSION,
        "task": task.id,
        "environment": {
            "domain": task.domain,
            "env_id": task.env_id,
            "observation": {"shape": list(task.observation.shape),
                            "dtype": task.observation.dtype},
            "num_actions": task.num_actions,
            "sticky_action_prob": task.sticky_action_prob,
            "max_episode_steps": task.max_episode_steps,
            "frame_stack": FRAME_STACK,
        },
        "evaluation": {
            "num_episodes": num_episodes,
            "episode_seeds": episode_seeds(task.id, num_episodes),
            "epsilon": epsilon,
            "epsilon_rng": EPSILON_RNG,
            "return": RETURN_DEFINITION,
        },
        "training_data": {
            "datasets": [d.name for d in registry.datasets(f"rlu_{task.domain}")
                         if d.task.id == task.id] if task.builds_datasets else [],
        },
        "selection": {"methods": list(SELECTION_METHODS), "rule": SELECTION_RULE},
    }
    if task.domain == "atari":
        content["environment"]["atari"] = registry.ATARI_SETTINGS.as_dict()
    if not task.builds_datasets:
        content["training_data"] = {"datasets": list(task.external_datasets),
                                    "source": EXTERNAL_DATA}
    if not task.is_discrete:
        # Continuous tasks only (discrete protocols, and so their hashes, are unchanged).
        content["environment"]["action"] = {
            "kind": "continuous", "shape": list(task.action.shape),
            "minimum": list(task.action.minimum), "maximum": list(task.action.maximum)}
        content["environment"]["observation_keys"] = [
            [k, list(shape)] for k, shape in task.observation_keys]
        content["evaluation"]["policy"] = CONTINUOUS_POLICY
    return content


def make_protocol(settings_content: Mapping[str, Any],
                  references: Mapping[str, Any]) -> Protocol:
    """Seals settings and references into a `Protocol` (computes both hashes)."""
    settings_content = copy.deepcopy(dict(settings_content))
    body = {**settings_content, "references": copy.deepcopy(dict(references))}
    rewards = registry.get_task(settings_content["task"]).rewards
    cap = settings_content["environment"]["max_episode_steps"]
    return Protocol({**body, "settings_hash": content_hash(settings_content),
                     "hash": content_hash(body),
                     "max_return": None if rewards is None else rewards.max_return(cap)})


def load_references(path=None) -> dict[str, Any]:
    """The recorded normalisation references (package data unless `path` is given)."""
    if path is None:
        text = resources.files("rl_unplugged.evaluation").joinpath(
            "data", REFERENCES_FILE).read_text()
    else:
        with open(path) as f:
            text = f.read()
    return json.loads(text)


def derive_protocols(references: Mapping[str, Any] | None = None) -> dict[str, Protocol]:
    """Builds every task's protocol from the registry and the recorded references.

    Raises:
      KeyError: a task has no reference record (run `rlu protocols references`).
    """
    if references is None:
        references = load_references()
    out = {}
    for task in registry.tasks():
        if task.id not in references.get("tasks", {}):
            how = ("`python -m rl_unplugged.evaluation.atari_references` (published scores)"
                   if task.domain == "atari" else "`rlu protocols references`")
            raise KeyError(f"no normalisation references recorded for {task.id}; run {how}")
        out[task.id] = make_protocol(settings(task), references["tasks"][task.id])
    return out


def protocols_to_json(protocols: Mapping[str, Protocol]) -> str:
    return json.dumps({"format": "rl_unplugged protocols", "protocol_version": PROTOCOL_VERSION,
                       "protocols": [p.content for p in protocols.values()]},
                      indent=1, sort_keys=True, allow_nan=False) + "\n"


@functools.cache
def _frozen() -> dict[str, Protocol]:
    text = resources.files("rl_unplugged.evaluation").joinpath("data", PROTOCOLS_FILE).read_text()
    return {c["task"]: Protocol(c) for c in json.loads(text)["protocols"]}


def all_protocols() -> dict[str, Protocol]:
    """All frozen protocols, keyed by task id."""
    return dict(_frozen())


def get_protocol(task_id: str) -> Protocol:
    """The frozen protocol of a task ('bsuite/catch'); unknown ids list close names."""
    frozen = _frozen()
    if task_id not in frozen:
        raise registry._unknown("protocol task", task_id, frozen)
    return frozen[task_id]


def by_hash(protocols_: Mapping[str, Protocol] | None = None) -> dict[str, Protocol]:
    protocols_ = all_protocols() if protocols_ is None else protocols_
    return {p.hash: p for p in protocols_.values()}


# Retired protocol versions: their frozen files stay in the package (`protocols_v{N}.json`)
# so entries scored under them can still be validated and shown, apart from the current
# tracks; a submission under a retired version is refused with `retired_message`.
RETIRED_VERSIONS = (1,)
RETIRED_WHY = {
    1: ("its expert references were weak: behaviour runs that had not converged, each "
        "with its checkpoint chosen by logged (epsilon-greedy, still-learning) returns; "
        "MinAtar resets leaked the previous episode's last action under sticky actions; "
        "and the evaluator's epsilon actions drew from the environment's own seed stream "
        "(default_rng(seed), the stream reset(seed) uses)"),
}
MIGRATION_DOC = "evaluation/README.md, Migration"


def retired_file(version: int) -> str:
    """The package-data file name of a retired version's frozen protocols."""
    return f"protocols_v{version}.json"


@functools.cache
def _retired(version: int) -> dict[str, Protocol]:
    name = retired_file(version)
    doc = json.loads(resources.files("rl_unplugged.evaluation").joinpath("data", name)
                     .read_text())
    out = {}
    for content in doc["protocols"]:
        protocol = Protocol(content)  # Checks both hashes against the content.
        if doc.get("protocol_version") != version or protocol.version != version:
            raise ValueError(f"{name}: protocol {protocol.task_id!r} is v{protocol.version} "
                             f"in a file of v{doc.get('protocol_version')}, not v{version}")
        out[protocol.task_id] = protocol
    return out


def retired_protocols(version: int) -> dict[str, Protocol]:
    """The frozen protocols of a retired version, keyed by task id, hashes checked.

    Raises:
      UnknownNameError: `version` is not in `RETIRED_VERSIONS` (the current one included).
      ValueError: the packaged file's content does not match its hashes or its version.
    """
    # Checked before the cache, which would take True for 1.
    if isinstance(version, bool) or version not in RETIRED_VERSIONS:
        current = (f"; v{version} is the current version (all_protocols())"
                   if version == PROTOCOL_VERSION else "")
        raise UnknownNameError(f"no retired protocol version {version!r}{current}; retired "
                               f"versions: {', '.join(f'v{v}' for v in RETIRED_VERSIONS)}")
    return dict(_retired(version))


def retired_protocol(hash_: str) -> Protocol | None:
    """The retired protocol whose `hash` is `hash_`, or None (a current or unknown hash).

    A hash that is also current (an unchanged protocol) counts as current: check the
    current protocols first.
    """
    for version in RETIRED_VERSIONS:
        for protocol in _retired(version).values():
            if protocol.hash == hash_:
                return protocol
    return None


def retired_message(protocol: Protocol) -> str:
    """Why a result under a retired protocol is refused, and what to do instead."""
    return (f"retired protocol v{protocol.version} of {protocol.task_id} "
            f"({protocol.hash[:12]}); re-evaluate under v{PROTOCOL_VERSION} (see "
            f"{MIGRATION_DOC})")
