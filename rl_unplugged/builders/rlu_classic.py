"""TFDS builder `rlu_classic`: gymnasium CartPole-v1, Acrobot-v1, MountainCar-v0."""

from rl_unplugged.builders import base


class RluClassic(base.RluBuilder):
    """RL Unplugged-style classic-control datasets, logged locally."""

    name = "rlu_classic"
    BUILDER_CONFIGS = base.configs("rlu_classic")
    HOMEPAGE = "https://gymnasium.farama.org/environments/classic_control/"
    ENV_CITATION = """\
@article{towers2024gymnasium,
  title={Gymnasium: A Standard Interface for Reinforcement Learning Environments},
  author={Towers, Mark and Kwiatkowski, Ariel and Terry, Jordan and Balis, John U and
          De Cola, Gianluca and Deleu, Tristan and Goul{\\~a}o, Manuel and Kallinteris,
          Andreas and Krimmel, Markus and KG, Arjun and others},
  journal={arXiv preprint arXiv:2407.17032},
  year={2024}
}"""
