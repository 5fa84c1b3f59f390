"""Which upstream tests matter for a series, and running them on both sides."""
