"""Subcommands of the `mammo` command line; every module here with a `register` is one
(``_types`` holds the argument types they share)."""
