"""Classical and Bayesian solvers (see the solvers issue); pure functions returning a Result."""
