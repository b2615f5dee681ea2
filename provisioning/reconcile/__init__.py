"""Reconcile (DESIGN B4): read the target back, compare it with what the mappings produce now,
classify every account (in sync, drifted, missing, unmanaged, orphaned) and, when the job says so,
repair the drift through the engine's own act/record path.

- :mod:`.reader` streams the target page by page (one page in memory at a time);
- :mod:`.compare` compares values the way targets normalise them;
- :mod:`.repair` repairs through :class:`provisioning.engine.act.ChunkSynchronizer`;
- :mod:`.run` orchestrates one reconcile under the job's lease;
- :mod:`.schedule` dispatches scheduled reconciles.
"""
