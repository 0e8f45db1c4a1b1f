"""Differential tests: pyhttpd and Debian's apache2 answering the same requests."""
