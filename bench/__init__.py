"""Benchmarks: each module has a ``main()`` that measures one speed target and prints figures.

Run one with ``python -m bench.<module>``, all with ``python -m bench`` (``make bench``).
"""
