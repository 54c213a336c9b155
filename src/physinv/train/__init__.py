"""Training of physics-constrained networks (see the training issue)."""
