"""latentrw: train GANs and improve their samples after training.

The public API, importable from the package itself, e.g.::

    from latentrw import TrainConfig, train_gan, load_run, ReweightConfig, train_w, load_w, LatentRS, evaluate_samples

Every name lives in a module of its own (``latentrw.samplers.LatentRS``, ...) and is re-exported
here. Three are renamed so that no name hides a module of the package: ``train_gan`` is
``latentrw.train.train``, ``run_bench`` is ``latentrw.bench.bench`` and ``shipped_checkpoint``
is ``latentrw.shipped.shipped``.
"""

__version__ = "0.1.0"

# After __version__: the modules below read it.
from latentrw.bench import BenchConfig
from latentrw.bench import bench as run_bench
from latentrw.config import TrainConfig
from latentrw.data import load_dataset
from latentrw.metrics.evaluate import evaluate_samples, floor
from latentrw.report import build_report
from latentrw.reweight import ReweightConfig, WNetwork, load_w
from latentrw.run import import_run, load_run
from latentrw.sample import draw, make_sampler
from latentrw.samplers import DDLS, DOT, DRS, MHGAN, SAMPLERS, SIR, DGflow, LatentGA, LatentRS, LatentRSGA, LatentSIR, Truncation
from latentrw.samplers.calibrate import CalibrationConfig, calibrate, load_calibrated
from latentrw.shipped import available
from latentrw.shipped import shipped as shipped_checkpoint
from latentrw.train import train as train_gan
from latentrw.w_trainer import WTrainer, train_w

__all__ = [
    "load_dataset",
    "TrainConfig",
    "train_gan",
    "import_run",
    "load_run",
    "available",
    "shipped_checkpoint",
    "ReweightConfig",
    "WNetwork",
    "load_w",
    "WTrainer",
    "train_w",
    "DDLS",
    "DGflow",
    "DOT",
    "DRS",
    "LatentGA",
    "LatentRS",
    "LatentRSGA",
    "LatentSIR",
    "MHGAN",
    "SAMPLERS",
    "SIR",
    "Truncation",
    "CalibrationConfig",
    "calibrate",
    "load_calibrated",
    "draw",
    "make_sampler",
    "evaluate_samples",
    "floor",
    "BenchConfig",
    "run_bench",
    "build_report",
]
