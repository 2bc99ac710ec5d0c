"""rl_unplugged: offline RL datasets, JAX baselines, fixed evaluation, a leaderboard.

Pins are the set measured to install and work together (see ../shared/NOTES.md and
rl_unplugged/compat.py, which checks the ones with known traps at run time).
"""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    # TensorFlow / TFDS / RLDS. rlds 0.1.7+ imports dm-reverb, which fails on TF > 2.15.
    "tensorflow==2.21.0",
    "tf-keras==2.21.0",  # tfp-nightly wants it when TensorFlow is installed.
    "tensorflow-datasets==4.9.10",
    "rlds==0.1.6",
    "tfp-nightly==0.26.0.dev20261027",
    "protobuf==6.33.6",
    # JAX learners.
    "jax==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "chex==0.1.92",
    "dm-tree==0.1.10",
    # Arrays, tables, plots.
    "numpy==2.4.6",
    "pandas==2.3.3",  # rliable 1.2 needs arch<8, and arch 7.2 breaks on pandas 3.
    "pyarrow==25.0.1",
    "matplotlib==3.11.2",
    "scikit-learn",
    # Environments. dm-control 1.0.50 breaks with mujoco 4 ('flex_vertedge').
    "gymnasium[classic-control,mujoco]==1.4.0",
    "mujoco==3.17.0",
    "dm-control==1.0.50",
    "ale-py==0.12.1",
    # gymnasium's AtariPreprocessing (the Atari backend, envs/atari.py) resizes with cv2.
    "opencv-python-headless==4.14.0.94",
    "bsuite==0.3.6",
    "MinAtar==1.0.15",
    # Evaluation and leaderboard.
    "rliable==1.2.0",
    "jsonschema",
    # CLI.
    "tqdm",
    "rich",
]

TEST_REQUIRES = ["pytest", "hypothesis", "nbmake==1.5.5", "nbclient", "nbformat", "ipykernel",
                 "ruff"]

setup(
    name="rl_unplugged",
    version="0.1.0",
    description="Offline RL benchmark: RLDS datasets built locally, JAX baselines, "
                "protocol-fixed evaluation and a leaderboard.",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["rl_unplugged", "rl_unplugged.*"]),
    package_data={"rl_unplugged": ["**/*.json"]},
    install_requires=INSTALL_REQUIRES,
    # Optional engine for `--beam` (SCALING.md); measured with the set above in a venv
    # beside it (same pyarrow, numpy, protobuf), kept out of the default install.
    extras_require={"test": TEST_REQUIRES, "beam": ["apache-beam==2.77.0"]},
    entry_points={"console_scripts": ["rlu=rl_unplugged.cli:main"]},
    license="Apache-2.0",
)
