"""The BLAS the compiled kernels call, loaded without the half second scipy.linalg costs.

numba lowers np.dot in a kernel to scipy.linalg.cython_blas, and loading a kernel from the
cache imports that module (numba.np.arraymath checks for it). A plain import runs
scipy.linalg's package first, which imports most of scipy.linalg and scipy's array-API
layer: about 0.5 s of a warm start's 1.5. The extension itself needs none of it, so it is
loaded here from its file under its own name, and every later import of it (numba's, ours)
finds it in sys.modules. Should that fail (scipy laid out otherwise), the plain import.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

NAME = "scipy.linalg.cython_blas"


def import_cython_blas() -> ModuleType:
    """scipy.linalg.cython_blas, imported once, without scipy.linalg's package if it can."""
    loaded = sys.modules.get(NAME)
    if loaded is not None:
        return loaded
    try:
        return _load_alone()
    except Exception:  # another layout of scipy: the ordinary, slower import
        sys.modules.pop(NAME, None)
        return importlib.import_module(NAME)


def _load_alone() -> ModuleType:
    import scipy  # its package __init__ is light; scipy.linalg's is not

    folder = Path(scipy.__file__).parent / "linalg"
    path = next(
        folder / f"cython_blas{suffix}"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (folder / f"cython_blas{suffix}").is_file()
    )
    spec = importlib.util.spec_from_file_location(NAME, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no loader for {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    return module
