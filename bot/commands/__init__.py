"""The `mibarrio` command groups; bot/cli.py is the entry point that gathers them."""
