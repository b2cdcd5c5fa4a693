"""A run's meaning: data, the trainer, metric history, the convergence judge and the session.

Builds on engine.numerics; has no thread and writes no file (engine.live and engine.store
drive and persist it).
"""
