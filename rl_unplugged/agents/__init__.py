"""The one registry of offline learners: name -> `AgentSpec`.

The CLI (`rlu train ALGO`), the training loop and the contract test all go through
`get_agent` / `make_config`, so an algorithm is declared exactly once.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any

from rl_unplugged.agents import bc, bc_gaussian, cql, cql_sac, crr, dqn, iql, qrdqn, td3_bc
from rl_unplugged.agents.builder import build as build_learner
from rl_unplugged.agents.common import Batch, Learner, LearnerConfig, TrainingState
from rl_unplugged.errors import ConfigError, UnknownNameError
from rl_unplugged.specs import ACTION_KINDS, TaskSpec

__all__ = ["AGENTS", "AgentSpec", "Batch", "Learner", "LearnerConfig", "TrainingState",
           "build_learner", "get_agent", "make_config", "make_learner", "register_agent"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentSpec:
    """One registered algorithm: its config class, defaults and learner factory."""

    name: str
    config_cls: type[LearnerConfig]
    factory: Callable[[Any, TaskSpec], Learner]
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""
    action_kind: str = "discrete"  # The actions it learns from: 'discrete' or 'continuous'.

    def __post_init__(self):
        if self.action_kind not in ACTION_KINDS:
            raise ConfigError(f"AgentSpec {self.name!r}: action_kind must be one of "
                              f"{ACTION_KINDS}, got {self.action_kind!r}")

    def fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.config_cls))


AGENTS: dict[str, AgentSpec] = {s.name: s for s in (
    AgentSpec(name="bc", config_cls=bc.BCConfig, factory=bc.make_learner,
              description="behaviour cloning (cross-entropy)"),
    AgentSpec(name="dqn", config_cls=dqn.DQNConfig, factory=dqn.make_learner,
              description="offline double DQN (Huber, target network)"),
    AgentSpec(name="qrdqn", config_cls=qrdqn.QRDQNConfig, factory=qrdqn.make_learner,
              description="offline QR-DQN (quantile Huber, double-DQN selection)"),
    AgentSpec(name="cql", config_cls=cql.CQLConfig, factory=cql.make_learner,
              description="CQL(H) over double DQN"),
    AgentSpec(name="cql_qrdqn", config_cls=cql.CQLConfig, factory=cql.make_learner,
              defaults={"base": "qrdqn"}, description="CQL(H) over QR-DQN (CQL's Atari setup)"),
    AgentSpec(name="bc_gaussian", config_cls=bc_gaussian.BCGaussianConfig,
              factory=bc_gaussian.make_learner, action_kind="continuous",
              description="behaviour cloning (tanh-Gaussian maximum likelihood)"),
    AgentSpec(name="td3_bc", config_cls=td3_bc.TD3BCConfig, factory=td3_bc.make_learner,
              action_kind="continuous", description="TD3+BC (Fujimoto & Gu 2021)"),
    AgentSpec(name="cql_sac", config_cls=cql_sac.CQLSACConfig, factory=cql_sac.make_learner,
              action_kind="continuous",
              description="CQL(H) over SAC, optional Lagrange variant (Kumar et al. 2020)"),
    AgentSpec(name="iql", config_cls=iql.IQLConfig, factory=iql.make_learner,
              action_kind="continuous", description="implicit Q-learning (Kostrikov et al. 2022)"),
    AgentSpec(name="crr", config_cls=crr.CRRConfig, factory=crr.make_learner,
              action_kind="continuous",
              description="critic-regularised regression, exp/binary filters, optional MoG "
                          "critic (Wang et al. 2020)"),
)}


def register_agent(spec: AgentSpec, *, replace: bool = False) -> AgentSpec:
    """Adds an algorithm to `AGENTS`, so `train`, `rlu train` and policies find it by name.

    Raises:
      ConfigError: the name is taken (pass `replace=True` to swap it) or empty.
    """
    if not isinstance(spec, AgentSpec):
        raise TypeError(f"register_agent needs an AgentSpec, got {type(spec).__name__}")
    if not spec.name:
        raise ConfigError("an AgentSpec needs a non-empty name")
    if spec.name in AGENTS and not replace:
        raise ConfigError(f"agent {spec.name!r} is already registered; pick another name "
                          f"or pass replace=True")
    AGENTS[spec.name] = spec
    return spec


def get_agent(name: str) -> AgentSpec:
    """Looks an algorithm up; unknown names raise an UnknownNameError (a KeyError) listing
    the valid ones."""
    if name not in AGENTS:
        close = difflib.get_close_matches(name, AGENTS, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownNameError(f"unknown algorithm {name!r}{hint}; valid: {', '.join(AGENTS)}")
    return AGENTS[name]


def make_config(agent: str | AgentSpec, **overrides: Any) -> LearnerConfig:
    """The agent's config with its defaults and `overrides` applied (validated).

    Raises:
      UnknownNameError: an unknown hyperparameter (a KeyError; lists the valid ones).
      ValueError: an invalid value.
    """
    spec = get_agent(agent) if isinstance(agent, str) else agent
    valid = spec.fields()
    for key in overrides:
        if key not in valid:
            raise UnknownNameError(f"unknown hyperparameter {key!r} for {spec.name}; "
                                   f"valid: {', '.join(valid)}")
    return spec.config_cls(**{**spec.defaults, **overrides})


def make_learner(agent: str | AgentSpec, task: TaskSpec,
                 config: LearnerConfig | None = None) -> Learner:
    spec = get_agent(agent) if isinstance(agent, str) else agent
    config = make_config(spec) if config is None else config
    if not isinstance(config, spec.config_cls):
        raise TypeError(f"{spec.name} needs a {spec.config_cls.__name__}, "
                        f"got {type(config).__name__}")
    learner = spec.factory(config, task)
    return dataclasses.replace(learner, name=spec.name)
