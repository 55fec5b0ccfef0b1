"""`python -m training`: train the screener's learned second stage from labelled files and save
it as the shipped model (bot/locales/lexicon/screening_model.json)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.core.screening_model import MODEL_PATH
from training.data import DEFAULT_SHARED, TRAINING_FILES, train_from_files_keeping_apart

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="train the screener's learned second stage from labelled files",
    )
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data",
                        help="folder with the labelled .jsonl sets")  # fmt: skip
    parser.add_argument("--version", required=True, help="the model's version, e.g. 2026.11-1")
    parser.add_argument(
        "--shared", type=Path, default=None,
        help="the shared folder with the real training text (default: ../shared beside the "
        "repository); see bot/locales/lexicon/MODEL_CARD.md",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=None,
                        help="where to save the model (default: the shipped one)")  # fmt: skip
    parser.add_argument(
        "--apart", type=Path, default=None, metavar="DIR",
        help="also save, in DIR, the models trained without each real file that is also used "
        "to judge the screener (C-SSRS), to measure the screener on it honestly",
    )  # fmt: skip
    args = parser.parse_args(argv)
    shared = args.shared or DEFAULT_SHARED
    try:
        stage, figures, apart = train_from_files_keeping_apart(
            [args.data / name for name in TRAINING_FILES], args.version, shared
        )
    except FileNotFoundError as error:
        print(f"training: the real training text is missing: {error}", file=sys.stderr)
        return 2
    output = args.output or MODEL_PATH
    stage.save(output)
    print(f"saved {output} (version {stage.version})")
    if args.apart is not None:
        args.apart.mkdir(parents=True, exist_ok=True)
        for name, without in apart.items():
            path = args.apart / f"without-{Path(name).stem}.json"
            without.save(path)
            print(f"saved {path} (trained without {name})")
    print("on files each model did not see, the model alone:")
    for name, value in figures.items():
        print(f"  {name}: {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
