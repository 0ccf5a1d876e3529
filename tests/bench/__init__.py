"""`make bench` keeps working."""
