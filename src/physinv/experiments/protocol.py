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
    """One task of the benchmark protocol: its physics, noise, image domain and scoring.

    Parameters
    ----------
    name : str
        A key of ``OPERATOR_SPECS``: ``"deblur_gauss"``, ``"deblur_motion"``, ``"denoise"``,
        ``"sr_x2"`` or ``"ct_sparse"``.
    description : str
        One line for tables and reports.

    Examples
    --------
    >>> import torch
    >>> task = get_task("denoise")
    >>> op = task.operator((16, 16))
    >>> x = torch.full((1, 1, 16, 16), 0.5)
    >>> y = task.measure(x, op, seed=0)  # Gaussian noise σ = 0.1
    >>> type(op).__name__, round(task.psnr(y, x), 1)
    ('Identity', 20.5)
    """

    name: str
    description: str

    @property
    def spec(self) -> str:
        """The task's operator in the spec language of ``physinv.operators.spec``."""
        return OPERATOR_SPECS[self.name]

    def operator(self, shape) -> LinearOperator:
        """The task's forward operator on images of ``shape`` (``from_spec(self.spec, shape)``).

        Parameters
        ----------
        shape : (int, int)
            The image shape (H, W) the operator acts on (its ``in_shape``).

        Returns
        -------
        LinearOperator
            ``Convolution`` (deblur, circular), ``Identity`` (denoise), ``SuperResolution``
            (sr_x2, output (H/2, W/2)) or ``Radon`` (ct_sparse, 60 angles).

        Raises
        ------
        InputError
            For an unknown task name, or a shape the physics does not fit (e.g. the 25×25
            PSF of deblur_gauss on an image smaller than 25×25).

        Examples
        --------
        >>> get_task("sr_x2").operator((16, 16)).out_shape
        (8, 8)
        """
        if self.name not in OPERATOR_SPECS:
            raise InputError("task", self.name, f"one of {sorted(TASKS)}")
        return from_spec(self.spec, shape)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images as the task uses them (CT: 128×128, anti-aliased, inscribed disk).

        Parameters
        ----------
        images : torch.Tensor, shape (N, 1, H, W)
            The clean images.

        Returns
        -------
        torch.Tensor
            ``images`` itself, except for ct_sparse: (N, 1, 128, 128), each image resized
            with anti-aliasing and zero outside ``circle_mask(128)``, in ``images``' dtype.
        """
        if self.name != "ct_sparse":
            return images
        from skimage.transform import resize

        out = []
        for img in images:
            small = resize(img[0].double().numpy(), (128, 128), anti_aliasing=True)
            out.append(torch.from_numpy(small * circle_mask(128))[None])
        return torch.stack(out).to(images.dtype)

    def restrict(self, estimate: torch.Tensor) -> torch.Tensor:
        """The estimate on the task's domain (CT: the inscribed disk the scan covers).

        Parameters
        ----------
        estimate : torch.Tensor, shape (B, C, H, W)
            An estimate (square for ct_sparse).

        Returns
        -------
        torch.Tensor
            ``estimate`` itself, except for ct_sparse: zero outside ``circle_mask(W)``.
        """
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
        """PSNR (dB) as the protocol scores it: on the task's domain, clipped to [−1, 2].

        Parameters
        ----------
        estimate, truth : torch.Tensor, shape (1, C, H, W)
            One estimate and its ground truth (peak 1); ``estimate`` is cast to ``truth``'s
            dtype.

        Returns
        -------
        float
            PSNR in dB.
        """
        return float(psnr(self.restrict(estimate.to(truth.dtype)).clamp(-1, 2), truth))

    def score(self, estimate: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
        """(PSNR, SSIM) as the protocol scores every method: the estimate on the task's
        domain (``restrict``), clipped to [−1, 2] (SSIM on [0, 1]).

        Parameters
        ----------
        estimate, truth : torch.Tensor, shape (1, C, H, W)
            One estimate and its ground truth (peak 1).

        Returns
        -------
        (float, float)
            PSNR in dB and SSIM.
        """
        est = self.restrict(estimate.to(truth.dtype)).clamp(-1, 2)
        return float(psnr(est, truth)), float(ssim(est.clamp(0, 1), truth))

    def tikhonov_lambda(self, train) -> float:
        """Tikhonov's λ (absolute) with the best mean protocol PSNR on (≤ 4 of) the training
        pairs [(x, y, op)]: ``physinv.solvers.tuning.tune_tikhonov`` scored by ``psnr``.

        Parameters
        ----------
        train : list of (x, y, op)
            Training pairs, e.g. ``training_pairs(task, n)``; never test images.

        Returns
        -------
        float
            λ = r‖H‖² for the best r of ``LAM_GRID``.
        """
        return tune_tikhonov(train, score=self.psnr)

    def tv_weight(self, train, norm2: float | None = None) -> float:
        """TV's λ / ‖H‖² on ``tv_grid`` with the best mean protocol PSNR on (≤ 4 of) the
        training pairs (``norm2``: the ‖H‖² the weight will be applied with).

        Parameters
        ----------
        train : list of (x, y, op)
            Training pairs; never test images.
        norm2 : float, optional
            ‖H‖² the relative weight refers to (default: the training operator's).

        Returns
        -------
        float
            The relative weight r (λ = r · ‖H‖²), with f ≥ 0 imposed for ct_sparse.
        """
        return tune_tv(train, self.tv_grid, self.psnr, norm2, positivity=self.positivity)

    def noise(self) -> NoiseModel:
        """The task's noise model (CT: σ = 1 % of each sinogram's maximum)."""
        if self.name == "ct_sparse":
            return RelativeGaussian(0.01)
        return Gaussian(0.1 if self.name == "denoise" else 0.01)

    def noise_sigma(self) -> float | None:
        """The known standard deviation of the task's additive noise, as BM3D is given it;
        None where it depends on the measurement (CT's relative noise).

        Examples
        --------
        >>> get_task("denoise").noise_sigma(), get_task("ct_sparse").noise_sigma()
        (0.1, None)
        """
        noise = self.noise()
        return float(noise.sigma) if isinstance(noise, Gaussian) else None

    def measure(self, x: torch.Tensor, op: LinearOperator, seed: int) -> torch.Tensor:
        """One measurement of ``x`` (1, 1, H, W) with the task's noise and ``seed``.

        Parameters
        ----------
        x : torch.Tensor, shape (1, 1, H, W)
            The clean image, on ``op``'s input grid.
        op : LinearOperator
            The task's operator on that grid.
        seed : int
            Noise seed (the protocol: 1234 + i for test image i, 10 000 + i for training
            crop i).

        Returns
        -------
        torch.Tensor, shape (1, 1, *op.out_shape)
            g = H x + noise.
        """
        return simulate(x, op, self.noise(), seed=seed)


TASKS = {
    "deblur_gauss": Task("deblur_gauss", "Gaussian PSF σ=2 px (25×25), noise σ=0.01"),
    "deblur_motion": Task("deblur_motion", "motion 9 px at 30°, noise σ=0.01"),
    "denoise": Task("denoise", "identity, noise σ=0.1"),
    "sr_x2": Task("sr_x2", "Gaussian PSF σ=1 then ×2 decimation, noise σ=0.01"),
    "ct_sparse": Task("ct_sparse", "Radon, 60 angles, 128×128 disk, noise 1 % of max"),
}


def get_task(name: str) -> Task:
    """The protocol task called ``name``.

    Parameters
    ----------
    name : str
        One of ``TASKS``: deblur_gauss, deblur_motion, denoise, sr_x2, ct_sparse.

    Returns
    -------
    Task

    Raises
    ------
    InputError
        For another name, with the list of tasks.

    Examples
    --------
    >>> get_task("ct_sparse").description
    'Radon, 60 angles, 128×128 disk, noise 1 % of max'
    """
    if name not in TASKS:
        raise InputError("task", name, f"one of {sorted(TASKS)}")
    return TASKS[name]


def evaluation_pairs(task: Task, n_images: int | None = None, dtype=torch.float64,
                     images=None):
    """[(name, x, y, op)] for the public test set, or one's own (or their first ``n_images``).

    Parameters
    ----------
    task : Task
        The task: it prepares the 256×256 test crops (``Task.prepare``: CT resized to 128×128
        and masked), builds the operator and measures test image i with seed
        ``TEST_SEED + i``.
    n_images : int, optional
        Only the first ones (of rocket, immunohistochemistry, hubble_deep_field, retina; or
        of ``images`` in their order).
    dtype : torch.dtype, default torch.float64
        The images' dtype.
    images : str, Path or dict, optional
        One's own test set instead of the public one: a folder (read by
        ``patches.folder_test_images``: centre 256×256 crops, gray, named after the files,
        in file-name order), or what that function returned (name → (1, 1, 256, 256)).

    Returns
    -------
    list of (str, torch.Tensor, torch.Tensor, LinearOperator)
        Name, truth (1, 1, H, W), measurement and operator of each test image.

    Raises
    ------
    InputError
        For a folder ``patches.folder_test_images`` refuses.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> np.save(folder / "mine.npy", np.full((256, 256), 0.5, np.float32))
    >>> [(n, tuple(x.shape)) for n, x, y, op in evaluation_pairs(TASKS["ct_sparse"],
    ...                                                           images=folder)]
    [('mine', (1, 1, 128, 128))]
    """
    if images is None:
        images = patches.test_images()
    elif not isinstance(images, dict):
        images = patches.folder_test_images(images)
    names = list(images)[: n_images or len(images)]
    out = []
    for i, name in enumerate(names):
        x = task.prepare(images[name].to(dtype))
        op = task.operator(tuple(x.shape[-2:]))
        out.append((name, x, task.measure(x, op, TEST_SEED + i), op))
    return out


def load_test_set(folder=None) -> tuple[dict | None, dict]:
    """The test set of a run, read once before any work, and what its JSON says about it.

    Parameters
    ----------
    folder : str or Path, optional
        A folder of one's own test images (``patches.folder_test_images``); None: the
        public set.

    Returns
    -------
    (dict or None, dict)
        The images to hand to ``evaluation_pairs`` (None: the public set) and the record
        ``{"name": "public", "images": [...]}`` or ``{"name": "own", "folder": ...,
        "images": [...]}`` (names in seed order).

    Raises
    ------
    InputError
        For a folder ``patches.folder_test_images`` refuses.
    """
    if folder is None:
        return None, {"name": "public", "images": list(patches.images.TEST_SET)}
    images = patches.folder_test_images(folder)
    return images, {"name": "own", "folder": str(folder), "images": list(images)}


def training_pairs(task: Task, n_train: int, dtype=torch.float64):
    """[(x, y, op)] over the first ``n_train`` protocol crops, with training seeds.

    Parameters
    ----------
    task : Task
        The task: it prepares the 128×128 crops of ``patches.training_crops`` and measures
        crop i with seed ``TRAIN_SEED + i``.
    n_train : int
        Number of crops.
    dtype : torch.dtype, default torch.float64
        The images' dtype.

    Returns
    -------
    list of (torch.Tensor, torch.Tensor, LinearOperator)
        Truth (1, 1, H, W), measurement and the (shared) operator of each crop.
    """
    crops = task.prepare(patches.training_crops(n_train).to(dtype))
    op = task.operator(tuple(crops.shape[-2:]))
    return [(crops[i: i + 1], task.measure(crops[i: i + 1], op, TRAIN_SEED + i), op)
            for i in range(n_train)]
