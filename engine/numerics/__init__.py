"""The maths of training: model layout, optimizers, compiled kernels and their NumPy twin.

Imports only numpy, numba and scipy; knows nothing of sessions, files or threads above it.
"""
