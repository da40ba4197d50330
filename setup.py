from setuptools import setup

# Name, version and dependencies come from pyproject.toml ([project], tool.setuptools.dynamic).
# Importing the package here would fail under PEP 517 build isolation (uv pip install -e).
setup()
