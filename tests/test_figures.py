"""The paper's figures draw for image runs (tiny networks, no training)."""

from types import SimpleNamespace

import torch
from PIL import Image

from latentrw.figures import reweight_figures
from latentrw.models.mlp import MLPDiscriminator, MLPGenerator
from latentrw.priors import GaussianPrior
from latentrw.reweight import WNetwork


def test_image_figures_are_written_and_nonblank(tmp_path):
    torch.manual_seed(0)
    run = SimpleNamespace(G=MLPGenerator(8, hidden=(16,)).eval(), D=MLPDiscriminator(hidden=(16,)).eval(),
                          prior=GaussianPrior(8), config=SimpleNamespace(dataset="mnist"))
    w = WNetwork(8)
    torch.nn.init.normal_(w.net[-1].weight, std=0.5)  # a w that varies, so the ordering means something
    paths = reweight_figures(run, w, tmp_path, n=300)
    assert [p.name for p in paths] == ["w_histogram.png", "fig4_sorted_by_acceptance.png", "fig5_ga_path.png"]
    for p in paths:
        img = Image.open(p).convert("L")
        assert img.width > 200 and img.height > 150
        lo, hi = img.getextrema()
        assert hi - lo > 100  # not a blank canvas
