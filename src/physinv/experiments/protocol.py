"""The benchmark protocol (v1.1) of ``docs/PROTOCOL.md`` as code: tasks, images, seeds.

A ``Task`` builds its operator for an image shape, simulates measurements with the protocol's
noise and seeds (test image i: seed 1234 + i; training crop i: seed 10 000 + i, so training and
test noise never coincide), and says which images it uses (``ct_sparse``: 128×128 resized and
masked to the inscribed circle).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from physinv.data import patches
from physinv.data.phantoms import circle_mask
from physinv.errors import InputError
from physinv.metrics import psnr, ssim
from physinv.noise import Gaussian, NoiseModel, RelativeGaussian, simulate
from physinv.operators.base import LinearOperator
from physinv.operators.spec import from_spec
from physinv.solvers.tuning import tune_tikhonov, tune_tv

TEST_SEED = 1234
OPERATOR_SPECS = {
    "deblur_gauss": "blur:gaussian:sigma=2,size=25",
    "deblur_motion": "blur:motion:length=9,angle=30",
    "denoise": "identity",
    "sr_x2": "sr:gaussian:sigma=1,factor=2",
    "ct_sparse": "radon:angles=60",
}
TRAIN_SEED = 10_000
# TV's relative weights λ / ‖H‖² searched on the training crops, per task
TV_GRIDS = {"deblur_gauss": (3e-4, 1e-3, 2e-3, 4e-3, 8e-3),
            "deblur_motion": (3e-4, 1e-3, 2e-3, 4e-3, 8e-3),
            "denoise": (0.02, 0.04, 0.06, 0.08, 0.12),
            "sr_x2": (3e-4, 1e-3, 3e-3, 1e-2),
            "ct_sparse": (1e-4, 3e-4, 1e-3, 3e-3)}


@dataclass(frozen=True)
class Task:
    name: str
    description: str

    @property
    def spec(self) -> str:
        """The task's operator in the spec language of ``physinv.operators.spec``."""
        return OPERATOR_SPECS[self.name]

    def operator(self, shape) -> LinearOperator:
        if self.name not in OPERATOR_SPECS:
            raise InputError("task", self.name, f"one of {sorted(TASKS)}")
        return from_spec(self.spec, shape)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images as the task uses them (CT: 128×128, anti-aliased, inscribed disk)."""
        if self.name != "ct_sparse":
            return images
        from skimage.transform import resize

        out = []
        for img in images:
            small = resize(img[0].double().numpy(), (128, 128), anti_aliasing=True)
            out.append(torch.from_numpy(small * circle_mask(128))[None])
        return torch.stack(out).to(images.dtype)

    def restrict(self, estimate: torch.Tensor) -> torch.Tensor:
        """The estimate on the task's domain (CT: the inscribed disk the scan covers)."""
        if self.name != "ct_sparse":
            return estimate
        n = estimate.shape[-1]
        return estimate * torch.from_numpy(circle_mask(n)).to(estimate)

    @property
    def positivity(self) -> bool:
        """Whether the task's images are known to be non-negative (CT densities)."""
        return self.name == "ct_sparse"

    @property
    def tv_grid(self) -> tuple[float, ...]:
        """TV's relative weights λ / ‖H‖² to search on training crops."""
        return TV_GRIDS[self.name]

    def psnr(self, estimate: torch.Tensor, truth: torch.Tensor) -> float:
        """PSNR (dB) as the protocol scores it: on the task's domain, clipped to [−1, 2]."""
        return float(psnr(self.restrict(estimate.to(truth.dtype)).clamp(-1, 2), truth))

    def score(self, estimate: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
        """(PSNR, SSIM) as the protocol scores every method: the estimate on the task's
        domain (``restrict``), clipped to [−1, 2] (SSIM on [0, 1])."""
        est = self.restrict(estimate.to(truth.dtype)).clamp(-1, 2)
        return float(psnr(est, truth)), float(ssim(est.clamp(0, 1), truth))

    def tikhonov_lambda(self, train) -> float:
        """Tikhonov's λ (absolute) with the best mean protocol PSNR on (≤ 4 of) the training
        pairs [(x, y, op)]: ``physinv.solvers.tuning.tune_tikhonov`` scored by ``psnr``."""
        return tune_tikhonov(train, score=self.psnr)

    def tv_weight(self, train, norm2: float | None = None) -> float:
        """TV's λ / ‖H‖² on ``tv_grid`` with the best mean protocol PSNR on (≤ 4 of) the
        training pairs (``norm2``: the ‖H‖² the weight will be applied with)."""
        return tune_tv(train, self.tv_grid, self.psnr, norm2, positivity=self.positivity)

    def noise(self) -> NoiseModel:
        """The task's noise model (CT: σ = 1 % of each sinogram's maximum)."""
        if self.name == "ct_sparse":
            return RelativeGaussian(0.01)
        return Gaussian(0.1 if self.name == "denoise" else 0.01)

    def measure(self, x: torch.Tensor, op: LinearOperator, seed: int) -> torch.Tensor:
        """One measurement of ``x`` (1, 1, H, W) with the task's noise and ``seed``."""
        return simulate(x, op, self.noise(), seed=seed)


TASKS = {
    "deblur_gauss": Task("deblur_gauss", "Gaussian PSF σ=2 px (25×25), noise σ=0.01"),
    "deblur_motion": Task("deblur_motion", "motion 9 px at 30°, noise σ=0.01"),
    "denoise": Task("denoise", "identity, noise σ=0.1"),
    "sr_x2": Task("sr_x2", "Gaussian PSF σ=1 then ×2 decimation, noise σ=0.01"),
    "ct_sparse": Task("ct_sparse", "Radon, 60 angles, 128×128 disk, noise 1 % of max"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise InputError("task", name, f"one of {sorted(TASKS)}")
    return TASKS[name]


def evaluation_pairs(task: Task, n_images: int | None = None, dtype=torch.float64):
    """[(name, x, y, op)] for the public test set (or its first ``n_images``)."""
    images = patches.test_images()
    names = list(images)[: n_images or len(images)]
    out = []
    for i, name in enumerate(names):
        x = task.prepare(images[name].to(dtype))
        op = task.operator(tuple(x.shape[-2:]))
        out.append((name, x, task.measure(x, op, TEST_SEED + i), op))
    return out


def training_pairs(task: Task, n_train: int, dtype=torch.float64):
    """[(x, y, op)] over the first ``n_train`` protocol crops, with training seeds."""
    crops = task.prepare(patches.training_crops(n_train).to(dtype))
    op = task.operator(tuple(crops.shape[-2:]))
    return [(crops[i: i + 1], task.measure(crops[i: i + 1], op, TRAIN_SEED + i), op)
            for i in range(n_train)]
