"""The portal's one date format per language (issue 15), after Azure's portal in that locale.

``DATETIME_FORMAT`` and ``SHORT_DATETIME_FORMAT`` are the same, so every page shows a date the
same way whichever of the two a template names; Django picks the module of the active language
(``FORMAT_MODULE_PATH``).
"""
