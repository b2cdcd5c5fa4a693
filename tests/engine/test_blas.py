"""The kernels' BLAS loads without scipy.linalg's package (engine/numerics/blas.py)."""

from __future__ import annotations

import subprocess
import sys

from engine.numerics import blas

LOAD_A_KERNEL = """
import sys
import numpy as np
from engine.numerics.warmup import FIRST_KERNELS, warm_up_kernels
warm_up_kernels(np.float64, FIRST_KERNELS)
from numba.np import arraymath
print(arraymath._HAVE_BLAS, "scipy.linalg" in sys.modules)
"""


def test_a_kernel_loads_with_its_blas_and_without_scipy_linalg(repo_root):
    out = subprocess.run(
        [sys.executable, "-c", LOAD_A_KERNEL], cwd=repo_root, capture_output=True,
        text=True, check=True, timeout=600,
    )  # fmt: skip
    assert out.stdout.split() == ["True", "False"]  # numba found BLAS; the package never ran


def test_the_module_loaded_alone_is_the_one_numba_calls():
    module = blas.import_cython_blas()
    assert module is sys.modules[blas.NAME]
    assert "dgemm" in module.__pyx_capi__  # the symbol np.dot's kernels link to


def test_another_layout_of_scipy_falls_back_to_the_plain_import(monkeypatch):
    def no_file() -> None:
        raise StopIteration  # what next() over no matching file raises

    monkeypatch.delitem(sys.modules, blas.NAME)
    monkeypatch.setattr(blas, "_load_alone", no_file)
    module = blas.import_cython_blas()
    assert module.__name__ == blas.NAME and "dgemm" in module.__pyx_capi__
