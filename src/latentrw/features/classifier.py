"""The small CNN classifier whose penultimate layer gives the feature space of every
image metric (the MNIST convention; Issenhuth et al. §4.1 use a classifier's
pre-softmax layer) and whose logits give class statistics.

Architecture: two blocks of [3×3 conv, ReLU, 3×3 conv, ReLU, 2×2 max-pool] (32 and 64
channels), a 128-unit fully connected layer with ReLU -- the **feature layer**
``fc1`` (128-d) -- then dropout and a 10-way linear layer giving the logits. Inputs are
images in [-1, 1], shape (N, 1, 28, 28).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from latentrw.checkpoint import build_from_header, load_tensors, save_tensors
from latentrw.data import load_dataset

FEATURE_LAYER, FEATURE_DIM = "fc1", 128
# The classifier trains on the first 50k training images only; the last 10k stay unseen so
# that the real-vs-real floor (evaluate.floor) compares two sets of images the feature
# network never saw, like a generator's samples.
TRAIN_SPLIT = slice(0, 50_000)
HELDOUT_SPLIT = slice(50_000, 60_000)


class Classifier(nn.Module):
    def __init__(self, n_classes: int = 10, width: int = 32, feature_dim: int = FEATURE_DIM, dropout: float = 0.3):
        super().__init__()
        self.config = {"n_classes": n_classes, "width": width, "feature_dim": feature_dim, "dropout": dropout}
        w = width
        self.conv = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())
        self.fc1 = nn.Linear(2 * w * 7 * 7, feature_dim)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(feature_dim, n_classes)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(self.conv(x)))
        return h, self.fc2(self.drop(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


def _shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a random integer number of pixels in [-max_shift, max_shift]."""
    n = x.shape[0]
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator, device=x.device).double()
    theta = torch.zeros(n, 2, 3, dtype=torch.float64, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, :, 2] = shifts * 2 / x.shape[-1]
    grid = F.affine_grid(theta.float(), list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1


@torch.no_grad()
def accuracy(model: Classifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train_classifier(dataset: str, out: Path, epochs: int = 10, batch_size: int = 128, lr: float = 1e-3,
                     max_shift: int = 2, hflip: bool = False, seed: int = 0, progress: bool = True) -> dict:
    """Train the classifier on the first 50k training images of ``dataset`` and save it with its
    test accuracy.

    Adam with a cosine learning-rate schedule, random ±``max_shift`` pixel translations (and
    horizontal flips if ``hflip``, sensible for Fashion-MNIST, not for digits)."""
    data = load_dataset(dataset)
    x, y = data.model_input("train")[TRAIN_SPLIT], data.y_train[TRAIN_SPLIT]
    xt, yt = data.model_input("test"), data.y_test
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps = epochs * (len(x) // batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        start = time.perf_counter()
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(x), generator=g)
            bar = tqdm(range(len(x) // batch_size), desc=f"{dataset} classifier epoch {epoch + 1}/{epochs}",
                       disable=not progress, dynamic_ncols=True)
            for i in bar:
                idx = perm[i * batch_size:(i + 1) * batch_size]
                xb = _shift(x[idx], max_shift, g) if max_shift else x[idx]
                if hflip:
                    flip = torch.rand(len(xb), generator=g) < 0.5
                    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
                loss = F.cross_entropy(model(xb), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            acc = accuracy(model, xt, yt)
            if progress:
                tqdm.write(f"epoch {epoch + 1}: test accuracy {acc:.4f}")
    info = {"dataset": dataset, "test_accuracy": acc, "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "max_shift": max_shift, "hflip": hflip, "seed": seed, "seconds": round(time.perf_counter() - start, 1),
            "train_images": f"{TRAIN_SPLIT.start}:{TRAIN_SPLIT.stop}",
            "feature_layer": FEATURE_LAYER, "feature_dim": FEATURE_DIM, "config": model.config}
    model.eval()
    save_tensors(out, model.state_dict(), info)
    return info


def load_classifier(path: Path) -> tuple[Classifier, dict]:
    tensors, header = load_tensors(path)
    model = build_from_header(lambda: Classifier(**header["config"]), tensors, path, "a feature classifier",
                              config=header.get("config"))
    return model.eval(), header
