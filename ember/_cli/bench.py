"""`ember bench`: runs bench/run_all.py from the source checkout ember is installed from
(benchmarks are part of the repository, not of the installed package)."""
import importlib.util
import os

import ember


def add_arguments(parser):
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only the bench/ files whose name contains TEXT (repeatable)")


def find_run_all():
    """The path of bench/run_all.py next to the ember package's parent directory, or None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))
    path = os.path.join(root, "bench", "run_all.py")
    return path if os.path.isfile(path) else None


def run(args):
    path = find_run_all()
    if path is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))
        print(f"ember bench: no bench/run_all.py next to this ember ({root}). The benchmarks are "
              "in the source repository, not in the installed package: run `ember bench` from "
              "an editable install of a checkout (pip install -e .).")
        return 1
    spec = importlib.util.spec_from_file_location("ember_bench_run_all", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--markdown"] if args.markdown else []
    for text in args.only:
        argv += ["--only", text]
    return module.main(argv)
