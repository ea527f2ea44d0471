"""The reusable network library: cells, the backbone, pooling, sequence helpers, the bucket sampler.

Imports nothing from ``core.engine`` or ``core.tools``.
"""
