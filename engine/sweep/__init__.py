"""Sweeps: a grid of configs x seeds, one headless run per cell, on a Dask cluster.

grid.py reads `--grid` and builds the cells; plan.py is the sweep's identity (sweep.toml);
table.py the rows of sweep.csv and the majority phase; store.py the sweep directory;
progress.py the picture of a sweep a front end polls;
cell.py what a worker runs; driver.py the Dask client that hands cells out and collects
them. Only driver.py and cell.py import Dask.
"""
