"""The demo's three modes: one frozen ``DemoSettings`` each, the larger ones derived from the
smaller with ``dataclasses.replace`` (what stays the same from one mode to the next is then
visible by being absent).

- ``quick``: under a minute on 2 cores (one test image, few epochs, a network of each class);
- ``default``: a few minutes (every network but ``fourier-parametric``);
- ``full``: every network, larger training sets, more epochs.

results.json and ``stages/config.json`` record ``settings.to_dict()``: the fields in their
order, sequences as lists.

>>> MODES["quick"].test_images, MODES["default"].data_tasks == MODES["quick"].data_tasks
(1, True)
>>> list(MODES["quick"].to_dict())[:4]
['test_images', 'n_train', 'epochs', 'cnn_epochs']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from physinv.errors import InputError
from physinv.nets.registry import NETWORKS, names


@dataclass(frozen=True)
class DemoSettings:
    """What a mode sets, stage by stage (the ``data_``, ``fourier_``, ``ir_`` fields belong to
    those stages; the first four are shared by deblur and depth, ``test_images`` by data too).

    A network's epochs depend on its registry cost: ``cnn_epochs`` (``data_cnn_epochs``) for
    the ones with a convolutional part (``cost="cnn"``), ``epochs`` (``data_epochs``) else.
    """

    test_images: int  # public test images (256×256) each deblur_gauss score is averaged over
    n_train: int  # 128×128 training crops of deblur and depth
    epochs: int  # epochs of a cheap network in deblur, of unrolled Landweber in depth
    cnn_epochs: int  # epochs of a network with a CNN in deblur
    deblur_nets: tuple[str, ...]  # the networks of the deblur stage, in its table's order
    data_tasks: tuple[str, ...]  # protocol tasks of the data stage
    data_sizes: tuple[int, ...]  # the numbers N of training crops
    data_nets: tuple[str, ...]
    data_epochs: int
    data_cnn_epochs: int
    depths: tuple[int, ...]  # the numbers K of unrolled layers (= iterations)
    fourier_n: int  # training crops of the fourier stage
    fourier_epochs: int
    ir_n_train: int  # simulated thermal training scenes
    ir_epochs: int
    ir_frames: int  # test frames
    ir_net: str  # the restoration network of the ir stage
    # the uq stage (defaults: the quick mode's)
    uq_tasks: tuple[str, ...] = ("deblur_gauss",)  # sr_x2's Tikhonov λ tuning takes ~10 s
    uq_methods: tuple[str, ...] = ("tikhonov", "bayes-gauss")  # ct_sparse: fbp, tikhonov
    uq_samples: int = 4  # bootstrap reconstructions K per image
    uq_cal_images: int = 2  # held-out calibration crops
    uq_val_images: int = 1  # held-out crops after them that choose the calibration's form
    uq_draws: int = 1  # noise draws per calibration crop
    uq_net: str = ""  # a network trained on deblur_gauss and calibrated ("" none)
    uq_net_epochs: int = 0
    uq_ir_task: str = "ir_sr_x4"  # an IR task: ir restore's calibrated variance ("" none)
    uq_ir_frames: int = 2  # its simulated test frames
    blind_side: int = 128  # side of the blind stage's centre crop of a test image
    # learned regularisers of the deblur stage, used at their start (first differences, Huber
    # potentials — a DEQ epoch takes minutes on a CPU), (s_λ, s_μ) tuned on ``reg_tune_images``
    # training crops
    deblur_regularisers: tuple[str, ...] = ()
    reg_tune_images: int = 2
    data_tv_crops: int = 1  # training crops TV's λ is tuned on in the data stage (CT: ~14 s each)

    def __post_init__(self):
        unknown = [n for n in (*self.deblur_nets, *self.data_nets, self.ir_net)
                   if n not in NETWORKS]
        if unknown:
            raise InputError("network", ", ".join(unknown), f"one of {', '.join(NETWORKS)}")
        regs = names(family="regulariser")
        wrong = [n for n in self.deblur_regularisers if n not in regs]
        if wrong:
            raise InputError("deblur_regularisers", ", ".join(wrong), f"one of {', '.join(regs)}")

    def to_dict(self) -> dict:
        """The settings as results.json records them: fields in order, sequences as lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


QUICK = DemoSettings(
    test_images=1, n_train=4, epochs=20, cnn_epochs=2,
    deblur_nets=("analytic", "fourier", "svd", "wavelet", "decomposed", "unrolled-landweber",
                 "tikhonov-residual", "unet"),
    data_tasks=("deblur_gauss", "sr_x2", "ct_sparse"), data_sizes=(1, 4, 16),
    data_nets=("unrolled-landweber", "unet"), data_epochs=4, data_cnn_epochs=2,
    depths=(1, 2, 5, 10, 20), fourier_n=4, fourier_epochs=40,
    ir_n_train=2, ir_epochs=2, ir_frames=1, ir_net="tikhonov-residual")

DEFAULT = replace(
    QUICK, test_images=4, n_train=16, epochs=60, cnn_epochs=25,
    # the cheap networks first, then those with a CNN; fourier-parametric only in full
    deblur_nets=(*[n for n in names(cost="cheap") if n != "fourier-parametric"],
                 *names(cost="cnn")),
    data_sizes=(1, 4, 16, 64), data_nets=("unrolled-landweber", "tikhonov-residual", "unet"),
    data_epochs=10, data_cnn_epochs=8, fourier_n=16, fourier_epochs=150,
    ir_n_train=8, ir_epochs=40, ir_frames=2,
    uq_tasks=("deblur_gauss", "sr_x2", "ct_sparse"), uq_methods=("tikhonov", "tv", "bayes-gauss"),
    uq_samples=8, uq_cal_images=4, uq_val_images=2, uq_draws=1, uq_net="tikhonov-residual",
    uq_net_epochs=10, uq_ir_frames=4,
    blind_side=256, deblur_regularisers=("crr",), data_tv_crops=4)

FULL = replace(
    DEFAULT, n_train=64, epochs=200, cnn_epochs=60,
    deblur_nets=tuple(n for n in NETWORKS if n not in names(cost="solve")),
    deblur_regularisers=tuple(names(cost="solve")), reg_tune_images=4,
    data_nets=("fourier-radial", "wavelet", "unrolled-landweber", "tikhonov-residual",
               "unrolled-hqs", "dncnn", "unet"),
    data_epochs=100, data_cnn_epochs=60, fourier_n=64, fourier_epochs=400,
    ir_n_train=16, ir_epochs=60, ir_frames=8, uq_cal_images=8, uq_val_images=4, uq_draws=2,
    uq_ir_frames=8)

MODES = {"quick": QUICK, "default": DEFAULT, "full": FULL}
