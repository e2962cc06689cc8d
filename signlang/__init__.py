"""The sign-language recognition library under the top-level scripts; it never imports a script.

The scripts a user runs (frame.py, opticalflow.py, train_i3d.py, livedemo.py, ...) sit at the top of the
repository and import this package; tests/test_layout.py checks that no module here imports one of them
and that the imports form no circle.
"""
