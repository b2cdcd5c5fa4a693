"""BLAS threading policy for the training kernels.

The kernels' large products go to OpenBLAS (numba lowers np.dot to scipy's BLAS), whose
threads spin-wait between calls. Measured on this project's 2-core machine: for small
products (W2, minibatches of 256) a second thread gains 12% on an idle machine but loses
5x as soon as anything else runs (the dashboard, another process); for large products
(W1/W3, full batch over 4,704 rows) it gains 25-40%. So each kernel call runs with one
BLAS thread, or with every core when its largest product is large.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

# Multiply-adds of a product from which BLAS gets every core.
LARGE_PRODUCT_MACS = 1 << 24

_blas_libraries = None


def _libraries():
    global _blas_libraries
    if _blas_libraries is None:
        import scipy.linalg.cython_blas  # noqa: F401 - the BLAS numba's np.dot calls
        from threadpoolctl import ThreadpoolController

        controller = ThreadpoolController()
        _blas_libraries = [lib for lib in controller.lib_controllers if lib.user_api == "blas"]
    return _blas_libraries


def threads_for(largest_product_macs: int) -> int:
    """BLAS threads for a kernel whose largest matrix product has this many multiply-adds."""
    if largest_product_macs < LARGE_PRODUCT_MACS:
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


@contextmanager
def blas_threads(count: int):
    """Run the block with `count` BLAS threads, then restore the previous settings."""
    libraries = _libraries()
    before = [lib.num_threads for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(count)
    try:
        yield
    finally:
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)
