"""`python -m pyhttpd` runs the `pyhttpd` command line."""

from pyhttpd.cli.httpd import main

main()
