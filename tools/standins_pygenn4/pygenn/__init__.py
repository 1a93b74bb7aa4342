"""Stand-in for the one pygenn 4 name latency_mnist_mpi.py imports (CUDA device
selection, which means nothing to snnflow's NumPy engine)."""
