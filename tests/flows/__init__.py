"""Conversations with the engine, no Flask: onboarding, reports, polls, leaders, keywords."""
