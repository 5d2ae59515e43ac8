"""The headless commands: the top tier beside ``gui``; they use ``core`` and ``plugins``, never the reverse."""
