"""Property-based fuzzing of the whole bot with updates generated from the Bot API description."""
