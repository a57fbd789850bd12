"""`python -m llmviz.site`: build the course site (see llmviz.site.build)."""

import sys

from llmviz.site.build import main

if __name__ == "__main__":
    sys.exit(main())
