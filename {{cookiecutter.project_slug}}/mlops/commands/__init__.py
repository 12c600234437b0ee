"""One module per command; each returns a result object and leaves printing to the CLI."""
