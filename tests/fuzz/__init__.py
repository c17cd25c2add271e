"""Fuzzing: seeded generators that mutate small valid files of every accepted kind (photos, registries, rules,
township boundary layers) and a harness that runs each through the library and the CLI in a child process with a
time and memory limit, counting crashes. ``make fuzz`` runs the full set (``python -m tests.fuzz.run``);
``test_fuzz_slice.py`` runs a few dozen inputs in ``make test``.
"""
