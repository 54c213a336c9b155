"""Networks by name, with their structure class, for the CLI and the benchmarks.

``build(name, op, lam)`` returns the network initialised at its analytic values with the
regularisation weight ``lam`` (the Tikhonov λ with the gradient regulariser; unrolled and HQS
scale it to their own parameters); ``available(op)`` says which networks an operator allows and
why the others are not offered.

>>> from physinv.operators import Convolution, psf
>>> from physinv.nets.registry import build
>>> net = build("fourier-radial", Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
>>> net.config["structure"], net.trainable_parameters()
('radial', 16)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from physinv.errors import InputError
from physinv.nets.analytic import AnalyticNet
from physinv.nets.blackbox import DnCNN, UNet
from physinv.nets.decomposed import DecomposedNet, TikhonovResidual
from physinv.nets.ridge import RidgeNet
from physinv.nets.segment import SegmentationUNet
from physinv.nets.spectral import FourierNet, SVDNet, WaveletNet
from physinv.nets.unrolled import LISTA, UnrolledHQS, UnrolledLandweber
from physinv.operators import Dense


@dataclass(frozen=True)
class Entry:
    """Everything physinv knows about one network, in one place.

    Parameters
    ----------
    name : str
        The name users type (``physinv train --net NAME``).
    family : str
        Structure class: ``analytic``, ``transform``, ``decomposed``, ``unrolled``,
        ``regulariser`` (a learned regulariser solved to convergence on any operator) or
        ``black-box``.
    description : str
        One line for ``physinv nets`` and the help texts.
    cls : type
        The ``PhysicsNet`` subclass (what a checkpoint records).
    make : callable
        ``make(op, lam) -> net`` at the analytic initialisation for the Tikhonov λ ``lam``.
    needs : str
        ``"any"``, ``"fourier"`` (a Fourier-diagonal operator) or ``"svd"`` (Fourier-diagonal
        or ``Dense``).
    linear : bool
        Whether the map y ↦ x̂ is linear (and shift-invariant on a convolution): the oracle
        Wiener filter bounds it from above in mean square error.
    cost : str
        ``"cheap"`` (a few to a few thousand parameters, seconds to train) or ``"cnn"`` (a
        convolutional part: trained for fewer epochs in the demo) or ``"solve"`` (a
        variational solve to convergence per estimate — the learned regularisers, trained as
        denoisers by ``physinv.train.regulariser``; the demo uses them at their start).
    """

    name: str
    family: str
    description: str
    cls: type
    make: Callable
    needs: str = "any"
    linear: bool = False
    cost: str = "cheap"

    @property
    def physics(self) -> bool:
        """Whether the operator is inside the network (every family but black-box).

        Returns
        -------
        bool
            ``family != "black-box"``.
        """
        return self.family != "black-box"


def _norm2(op) -> float:
    return op.norm() ** 2


NETWORKS: dict[str, Entry] = {e.name: e for e in [
    Entry("analytic", "analytic", "one layer B = (H'H + λD'D)⁻¹H' (conv kernel / matrix)",
          AnalyticNet,
          lambda op, lam: AnalyticNet(op, lam=lam), "svd", linear=True),
    Entry("fourier", "transform", "FFT → per-frequency Λ → IFFT",
          FourierNet,
          lambda op, lam: FourierNet(op, lam=lam), "fourier", linear=True),
    Entry("fourier-radial", "transform", "FFT → Λ with a learned radial prior profile → IFFT",
          FourierNet,
          lambda op, lam: FourierNet(op, lam=lam, structure="radial"), "fourier", linear=True),
    Entry("fourier-parametric", "transform", "FFT → Λ with a 3-parameter prior spectrum → IFFT",
          FourierNet,
          lambda op, lam: FourierNet(op, lam=lam, structure="parametric"), "fourier", linear=True),
    Entry("svd", "transform", "H' → V' → learned diagonal → V",
          SVDNet,
          lambda op, lam: SVDNet(op, lam=lam, reg="gradient" if op.has_fourier_diagonal
                                 else "identity"), "svd", linear=True),
    Entry("wavelet", "transform", "Tikhonov → wavelet → per-sub-band shrinkage → inverse",
          WaveletNet,
          lambda op, lam: WaveletNet(op, lam=lam)),
    Entry("decomposed", "decomposed", "(H'H + learned regulariser spectrum)⁻¹ H', exact solve",
          DecomposedNet,
          lambda op, lam: DecomposedNet(op, lam=lam), linear=True),
    Entry("decomposed-cnn", "decomposed", "H' → learned filter → residual CNN",
          DecomposedNet,
          lambda op, lam: DecomposedNet(op, lam=lam, part="cnn"), cost="cnn"),
    Entry("tikhonov-residual", "decomposed", "fixed Tikhonov → residual CNN",
          TikhonovResidual,
          lambda op, lam: TikhonovResidual(op, lam=lam), cost="cnn"),
    Entry("unrolled-landweber", "unrolled", "10 Landweber layers, learned α_k, λ_k",
          UnrolledLandweber,
          lambda op, lam: UnrolledLandweber(op, n_layers=10), linear=True),
    Entry("lista", "unrolled", "10 ISTA layers in wavelets, learned α_k, θ_k",
          LISTA,
          lambda op, lam: LISTA(op, n_layers=10, lam=lam / 10 * _norm2(op), basis="wavelet")),
    Entry("unrolled-hqs", "unrolled", "5 HQS layers, shared CNN prox, learned μ_k",
          UnrolledHQS,
          lambda op, lam: UnrolledHQS(op, n_layers=5, mu=10 * lam, lam=lam), cost="cnn"),
    Entry("crr", "regulariser", "learned convex ridge regulariser (CRR-NN), solved to convergence",
          RidgeNet,
          lambda op, lam: RidgeNet(op, convex=True), cost="solve"),
    Entry("wcrr", "regulariser", "learned weakly convex ridge regulariser (WCRR-NN), any σ",
          RidgeNet,
          lambda op, lam: RidgeNet(op, convex=False), cost="solve"),
    Entry("dncnn", "black-box", "residual CNN on y / H'y / FBP",
          DnCNN,
          lambda op, lam: DnCNN(op), cost="cnn"),
    Entry("unet", "black-box", "0.48 M-parameter U-Net on y / H'y / FBP",
          UNet,
          lambda op, lam: UNet(op), cost="cnn"),
]}


def _reason(entry: Entry, op) -> str | None:
    if entry.needs == "fourier" and not op.has_fourier_diagonal:
        return "needs a Fourier-diagonal operator (convolution, identity)"
    if entry.needs == "svd" and not (op.has_fourier_diagonal or isinstance(op, Dense)):
        return ("needs an operator with an SVD: Fourier-diagonal or Dense "
                "(wrap a small operator as Dense(op.to_matrix(), ...))")
    return None


def available(op) -> dict[str, str | None]:
    """Which networks an operator allows, and why the others are not offered.

    Parameters
    ----------
    op : LinearOperator
        The forward operator the networks would be built around.

    Returns
    -------
    dict of str to (str or None)
        For every name of ``NETWORKS``, in registry order: None when the network applies to
        ``op``, else the reason it does not (e.g. it needs a Fourier-diagonal operator).

    Examples
    --------
    >>> from physinv.operators import SuperResolution, psf
    >>> offered = available(SuperResolution(psf.gaussian(1.0, 7), (16, 16), 2))
    >>> offered["decomposed"], offered["fourier"]
    (None, 'needs a Fourier-diagonal operator (convolution, identity)')
    """
    return {name: _reason(entry, op) for name, entry in NETWORKS.items()}


# segmentation heads are built by the thermal library, not by name; a checkpoint still names them
HEADS = (SegmentationUNet,)
CLASSES = {**{e.cls.__name__: e.cls for e in NETWORKS.values()},
           **{cls.__name__: cls for cls in HEADS}}


def names(*, family: str | None = None, linear: bool | None = None, cost: str | None = None,
          physics: bool | None = None) -> list[str]:
    """Network names whose registry entry matches every given fact, in registry order.

    Parameters
    ----------
    family : str, optional
        ``"analytic"``, ``"transform"``, ``"decomposed"``, ``"unrolled"``, ``"regulariser"``
        or ``"black-box"``.
    linear : bool, optional
        Whether the map y ↦ x̂ is linear.
    cost : str, optional
        ``"cheap"``, ``"cnn"`` (a convolutional part) or ``"solve"`` (a variational solve to
        convergence per estimate: the learned regularisers).
    physics : bool, optional
        Whether the operator is inside the network.

    Returns
    -------
    list of str
        The names of ``NETWORKS`` whose entry has every fact given (all names when none is).

    Examples
    --------
    >>> names(cost="cnn", physics=True)
    ['decomposed-cnn', 'tikhonov-residual', 'unrolled-hqs']
    """
    wanted = {"family": family, "linear": linear, "cost": cost, "physics": physics}
    return [n for n, e in NETWORKS.items()
            if all(v is None or getattr(e, k) == v for k, v in wanted.items())]


def network_class(name: str):
    """The network class called ``name``, as a checkpoint records it.

    Parameters
    ----------
    name : str
        A class name: those of the registry's entries and of the segmentation heads.

    Returns
    -------
    type
        The ``PhysicsNet`` subclass.

    Raises
    ------
    InputError
        For a name that is not a known network class.

    Examples
    --------
    >>> network_class("UnrolledHQS").__name__
    'UnrolledHQS'
    """
    if name not in CLASSES:
        raise InputError("network", name, f"one of {sorted(CLASSES)}")
    return CLASSES[name]


def build(name: str, op, lam: float = 0.01):
    """The network ``name`` for ``op``, at its analytic initialisation.

    Parameters
    ----------
    name : str
        A name of ``NETWORKS`` (``physinv nets`` lists them).
    op : LinearOperator
        The forward operator H the network holds.
    lam : float, default 0.01
        The Tikhonov λ (gradient regulariser) the network starts from; unrolled and HQS
        networks scale it to their own parameters (LISTA: λ‖H‖²/10, HQS: μ = 10λ).

    Returns
    -------
    PhysicsNet
        The untrained network: its classical solver until it is trained.

    Raises
    ------
    InputError
        For an unknown name, or a network the operator does not allow (with the reason).

    Examples
    --------
    >>> from physinv.operators import Convolution, psf
    >>> net = build("unrolled-hqs", Convolution(psf.gaussian(1.0, 7), (16, 16)), lam=0.01)
    >>> type(net).__name__, round(net.config["mu"], 6)
    ('UnrolledHQS', 0.1)
    """
    if name not in NETWORKS:
        raise InputError("net", name, f"one of {sorted(NETWORKS)}")
    reason = _reason(NETWORKS[name], op)
    if reason is not None:
        raise InputError("net", name, f"a network {type(op).__name__} allows: it {reason}")
    return NETWORKS[name].make(op, lam)
