"""`python -m scripts.bench [--quick]`: the entry point `make bench` calls. Runs in the bench process."""

import sys

from scripts.bench.run import main

sys.exit(main())
