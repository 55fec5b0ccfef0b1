"""Health and metrics: what an operator's monitoring sees of the running bot.

- `metrics`: the counters, kept where things happen (intake, dispatcher, the safety gate);
  plain Python, so a bot that serves no endpoint pays nothing to import it.
- `readiness`: what "ready" means, as a pure function of the facts (unit-tested).
- `server`: the endpoints (`/healthz`, `/readyz`, `/metrics` on PEERBOT_HTTP_PORT), with
  aiohttp and prometheus-client imported only when the port is on.

No label or value ever carries a user id, a name or anything someone wrote: labels take their
values from small fixed sets only.
"""
