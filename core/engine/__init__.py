"""The training engine: config, the Domain contract, the Trainer, checkpoints, runs, distribution.

Imports from ``core.nn`` but nothing from ``core.tools``.
"""
