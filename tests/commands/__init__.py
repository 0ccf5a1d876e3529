"""The `mibarrio` command line: operator, staff and broadcast commands, `mibarrio run`."""
