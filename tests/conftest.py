"""Shared fixtures: a small demo dataset, the shared data folder, notebook execution."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NOTEBOOKS = ROOT / "notebooks"
SMALL_DEMO_CUSTOMERS = 2000
SMALL_DEMO_SEED = 7


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Built-in datasets and the id salt go to a temporary cache, not the user's."""
    old = os.environ.get("ENGAGE_KIT_CACHE")
    os.environ["ENGAGE_KIT_CACHE"] = str(tmp_path_factory.mktemp("ek-cache"))
    yield
    if old is None:
        os.environ.pop("ENGAGE_KIT_CACHE", None)
    else:
        os.environ["ENGAGE_KIT_CACHE"] = old


@pytest.fixture(scope="session")
def small_demo_config(tmp_path_factory) -> Path:
    """config.yaml of a small demo dataset (2,000 customers, seed 7), written once."""
    from engage_kit.datasets import write_demo

    folder = tmp_path_factory.mktemp("small-demo")
    return write_demo(folder, SMALL_DEMO_CUSTOMERS, seed=SMALL_DEMO_SEED)


@pytest.fixture(scope="session")
def small_demo(small_demo_config):
    """The small demo dataset, loaded and validated."""
    import engage_kit as ek

    return ek.open_dataset(small_demo_config)


@pytest.fixture(scope="session")
def small_demo_truth(small_demo_config) -> dict:
    """The generator's truth for the small demo dataset."""
    return json.loads((small_demo_config.parent / "truth.json").read_text())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public datasets beside the project; skip where it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"shared datasets not found at {SHARED_DATA} (only beside the project's checkout)")
    return SHARED_DATA


def run_notebook(name: str, tmp_path: Path, config: Path | str, **params) -> tuple[Path, Path]:
    """Execute notebooks/<name>.ipynb headless with papermill; return (executed .ipynb, output dir)."""
    import papermill as pm
    from jupyter_client.kernelspec import KernelSpecManager

    out_dir = tmp_path / "out"
    executed = tmp_path / f"{name}.ipynb"
    kernels = KernelSpecManager().find_kernel_specs()
    kernel = "engage-kit" if "engage-kit" in kernels else "python3"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(executed),
        parameters={"config": str(config), "output_dir": str(out_dir), **params},
        kernel_name=kernel,
        progress_bar=False,
    )
    return executed, out_dir / name
