"""Evidence for decisions: the measures (one definition each), comparisons and exports."""
