"""A fake Telegram Bot API server that checks every request against the official spec."""
