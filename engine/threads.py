"""BLAS threading policy for the training kernels.

The kernels' large products go to OpenBLAS (numba lowers np.dot to scipy's BLAS). With
one OpenBLAS thread per core, the threads of one product spin-wait on each other, and
on a 2-core machine they also fight the dashboard's thread and any other process:
measured on W2 (minibatch 256), 115 steps/s with 2 threads against 587 with 1. One
thread per product is the better policy for models this size, so the engine sets it
once per process.
"""

from __future__ import annotations

_applied = False


def use_single_threaded_blas() -> None:
    """Limit every loaded BLAS (numpy's and the one numba's np.dot calls) to one thread."""
    global _applied
    if _applied:
        return
    import scipy.linalg.cython_blas  # noqa: F401 - load numba's BLAS so it is limited too
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    _applied = True
