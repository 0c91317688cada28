"""Build hook: generate flamed/_gen from proto/ before setuptools looks for packages.

pyproject.toml holds the metadata; this file only makes sure the generated stubs
exist and match proto/ (flamed/_generate.py; it imports nothing from the package).
"""

import runpy
from pathlib import Path

from setuptools import setup

runpy.run_path(str(Path(__file__).resolve().parent / "flamed" / "_generate.py"))["ensure"]()

setup()
