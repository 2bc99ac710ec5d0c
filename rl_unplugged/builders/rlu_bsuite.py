"""TFDS builder `rlu_bsuite`: bsuite catch, cartpole and mountain_car."""

from rl_unplugged.builders import base


class RluBsuite(base.RluBuilder):
    """RL Unplugged-style bsuite datasets, logged locally."""

    name = "rlu_bsuite"
    BUILDER_CONFIGS = base.configs("rlu_bsuite")
    HOMEPAGE = "https://github.com/google-deepmind/bsuite"
    ENV_CITATION = """\
@inproceedings{osband2020bsuite,
  title={Behaviour Suite for Reinforcement Learning},
  author={Osband, Ian and Doron, Yotam and Hessel, Matteo and Aslanides, John and
          Sezener, Eren and Saraiva, Andre and McKinney, Katrina and Lattimore, Tor and
          Szepesvari, Csaba and Singh, Satinder and Van Roy, Benjamin and Sutton, Richard
          and Silver, David and Van Hasselt, Hado},
  booktitle={International Conference on Learning Representations},
  year={2020}
}"""
