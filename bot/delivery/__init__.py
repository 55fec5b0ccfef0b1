"""Delivery: the only code that sends messages the bot owes (reminders, alerts, broadcasts)."""
