"""User-facing tools on top of the engine: the CLI, compare, reports, diagnostics."""
