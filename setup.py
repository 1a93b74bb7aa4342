"""Packaging beyond what pyproject.toml can say: the ready pipelines, kept in
pipelines/ at the top of the source tree, are installed inside the package as
snnflow.pipelines, so that `snnflow pipelines` and `snnflow run NAME` find them
after a plain `pip install snnflow`, without a clone. (pyproject.toml can either
find packages or map a folder onto a package name, not both.)"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["snnflow", "snnflow.*"]) + ["snnflow.pipelines"],
      package_dir={"snnflow.pipelines": "pipelines"},
      package_data={"snnflow.pipelines": ["README.md"]})
