"""Helper of test_slow: one training step of a tiny WGAN-GP GAN (GM prior) on 25 Gaussians, run
alone or under torchrun, saving the summed gradients of G, D and the prior before any optimizer
step (``python tests/dist_step.py OUT.safetensors``)."""

import sys

import torch
from safetensors.torch import save_file

from latentrw import distributed
from latentrw.config import TrainConfig
from latentrw.train import Trainer

distributed.init()
trainer = Trainer(TrainConfig(dataset="25gaussians", model="toy", objective="wgan-gp", prior="gm", batch_size=301,
                              n_critic=1, device="cpu"), "/nonexistent", progress=False)
grads = {}
for _name, opt, modules in (("D", trainer.opt_d, {"D": trainer.D}),
                           ("G", trainer.opt_g, {"G": trainer.G, "prior": trainer.prior})):
    def capture(*_, _modules=modules, **__):  # record the gradients instead of stepping
        for m, module in _modules.items():
            for k, p in module.named_parameters():
                if p.grad is not None:
                    grads[f"{m}.{k}"] = p.grad.detach().clone()
    opt.step = capture
torch.manual_seed(0)
x = trainer.data.model_input("train")
acc = torch.zeros(8)
trainer._train_step(x[:301], acc)
if distributed.is_main():
    save_file(grads | {"acc": acc}, sys.argv[1])
