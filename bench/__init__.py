"""Benchmarks: one module per subject, each with ``main()`` printing its figures."""
