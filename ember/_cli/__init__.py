"""The `ember` command line's subcommands: one module each (demo, info, bench).

Each module has `add_arguments(parser)` and `run(args) -> exit status`; `ember/__main__.py` wires
them to argparse. Optional dependencies are imported inside the functions that need them."""
import importlib.util

# module name -> (pip distribution name, the ember extra that installs it)
EXTRAS = {
    "sklearn": ("scikit-learn", "examples"),
    "matplotlib": ("matplotlib", "examples"),
    "tqdm": ("tqdm", "examples"),
    "tensorboardX": ("tensorboardX", "tensorboard"),
    "cupy": ("cupy-cuda12x", "cuda12"),
}


def missing_modules(*modules):
    """The modules among `modules` that cannot be imported (without importing any of them)."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def missing_message(what, modules):
    """A one-paragraph message naming the missing packages and the extra that installs them."""
    dists = ", ".join(EXTRAS[m][0] for m in modules)
    extras = sorted({EXTRAS[m][1] for m in modules})
    pip = " ".join(f"'ember[{e}]'" for e in extras)
    return (f"{what} needs {dists}, which {'is' if len(modules) == 1 else 'are'} not installed.\n"
            f"Install {'it' if len(modules) == 1 else 'them'} with:  pip install {pip}")
