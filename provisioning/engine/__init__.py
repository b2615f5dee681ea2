"""The sync engine: one module per stage of the cycle."""
