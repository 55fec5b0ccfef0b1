"""Tools that make the screener's shipped data, run from the project's root and never part of
the bot (not installed with it; nothing in `bot/` imports this package):

    .venv/bin/python -m training --version 2026.12-2    # retrain the learned second stage

`training.data` reads the labelled sets (the project's own and the real text in ../shared);
`training.model` fits the model and chooses its thresholds. See
bot/locales/lexicon/MODEL_CARD.md for what it learns from.
"""
