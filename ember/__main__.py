"""The `ember` command line: `ember demo` (the default), `ember info`, `ember bench`."""
import argparse
import importlib
import sys

COMMANDS = {
    "demo": "run the PyTorch tutorial, then train a CNN on handwritten digits (the default)",
    "info": "print versions, BLAS and GPUs, for bug reports",
    "bench": "run the benchmarks in the repository's bench/ folder (against torch if installed)",
}


def build_parser():
    import ember
    parser = argparse.ArgumentParser(
        prog="ember", description="ember: the PyTorch programming model on NumPy and CuPy. "
        "With no command, runs `ember demo`.")
    parser.add_argument("--version", action="version",
                        version=f"ember {ember.version.ember_version} (the torch "
                        f"{ember.version.api_version} API)")
    sub = parser.add_subparsers(dest="cmd", metavar="{" + ",".join(COMMANDS) + "}")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(f"ember._cli.{name}").add_arguments(p)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "demo")          # `ember` and `ember --epochs 3` run the demo
    args = build_parser().parse_args(argv)
    return importlib.import_module(f"ember._cli.{args.cmd}").run(args)


if __name__ == "__main__":
    sys.exit(main())
