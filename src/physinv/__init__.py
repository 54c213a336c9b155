"""physinv: imaging inverse problems g = Hf + ε with the physics H inside neural networks.

Layers, lower never importing higher: ``operators`` ← ``solvers`` ← ``nets`` ← ``train`` ←
``experiments`` / ``cli``. Alongside: ``noise``, ``metrics``, ``data``.
"""

__version__ = "0.1.0"

from physinv.errors import InputError  # noqa: E402

__all__ = ["InputError", "__version__"]
