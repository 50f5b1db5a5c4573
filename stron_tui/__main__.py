import sys

from stron_tui.cli import main

sys.exit(main())
