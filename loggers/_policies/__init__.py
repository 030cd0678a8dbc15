"""Per-logger policies around the hand-off, each opt-in and absent from the hot path when not asked for.

``sampling``: keep every n-th record of the sampled levels (``sample=``); ``pressure``: the
queue-pressure signals (``on_pressure=``) from a monitor thread.
"""
