import sys

from targets.p4sim.corpus.cli import main

if __name__ == "__main__":
    sys.exit(main())
