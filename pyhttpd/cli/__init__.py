"""Thin click shells: parse argv, call one library function, map errors to exit codes."""
