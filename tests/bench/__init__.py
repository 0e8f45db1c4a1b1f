"""Pure unit tests of the benchmark's parsing and report (the benchmark itself: `make bench`)."""
