"""Physics-constrained networks (see the networks issue)."""
