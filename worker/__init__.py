"""Everything that runs outside a web request: relaying the outbox, sending, RQ jobs."""
