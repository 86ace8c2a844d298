"""The ``leadflow`` command. The only package that imports ``leadflow.flows``."""
