"""How much one statement or one transaction handles at most."""

# Rows per INSERT when queueing many messages (keeps each statement's parameters bounded).
ENQUEUE_CHUNK = 500
# Rows deleted per transaction when old records are pruned.
PRUNE_BATCH = 1000
