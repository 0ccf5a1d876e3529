"""Everything outside a request: sending, broadcasts, the rate limiter, purges, Twilio stand-in."""
