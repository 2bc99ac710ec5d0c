"""TFDS builder `rlu_minatar`: the five MinAtar games (sticky actions 0.1)."""

from rl_unplugged.builders import base


class RluMinatar(base.RluBuilder):
    """RL Unplugged-style MinAtar datasets, logged locally."""

    name = "rlu_minatar"
    BUILDER_CONFIGS = base.configs("rlu_minatar")
    HOMEPAGE = "https://github.com/kenjyoung/MinAtar"
    ENV_CITATION = """\
@article{young2019minatar,
  title={MinAtar: An Atari-Inspired Testbed for Thorough and Reproducible Reinforcement
         Learning Experiments},
  author={Young, Kenny and Tian, Tian},
  journal={arXiv preprint arXiv:1903.03176},
  year={2019}
}"""
