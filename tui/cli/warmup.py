"""`groklab warmup`: compile every kernel ahead of time, with a progress bar.

For a machine prepared before a lesson: the first `groklab run` on a fresh install
otherwise spends its first seconds compiling. Compiled kernels go to Numba's cache (the
one `groklab run` will read: NUMBA_CACHE_DIR when set), under the same lock as a run's own
warm-up, so a warmup and a run started together take turns instead of racing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tui.format import printable

# The bundled presets train in float64, grokking-embedding in float32.
PRECISIONS = ("float64", "float32")


def _compiled_count() -> int:
    """Kernels this process compiled rather than loaded from the cache (Numba's counts)."""
    from engine.numerics import kernels

    dispatchers = (kernels.train_chunk, kernels.evaluate, kernels.predict)
    return sum(sum(d.stats.cache_misses.values()) for d in dispatchers)


def run_warmup(args: argparse.Namespace) -> int:
    from engine.numerics.kernel_cache import compile_lock, make_kernel_cache_crash_safe
    from engine.numerics.warmup import kernel_warmups

    precisions = PRECISIONS if args.precision == "all" else (args.precision,)
    console = Console(stderr=True, highlight=False)
    make_kernel_cache_crash_safe()
    steps = [step for name in precisions for step in kernel_warmups(np.dtype(name))]
    started = time.perf_counter()
    columns = (
        TextColumn("warmup", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    done: list[tuple[str, float, bool]] = []
    with compile_lock(), Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=len(steps))
        for what, warm_up in steps:
            bar.update(task, description=printable(what))
            began, compiled = time.perf_counter(), _compiled_count()
            warm_up()
            done.append((what, time.perf_counter() - began, _compiled_count() > compiled))
            bar.advance(task)
    for what, seconds, compiled in done:
        how = f"compiled in {seconds:.1f} s" if compiled else "loaded from the cache"
        console.print(f"  {what}: {how}", markup=False)
    total = time.perf_counter() - started
    console.print(f"warmup: {len(steps)} kernels ready in {total:.1f} s", markup=False)
    return 0
