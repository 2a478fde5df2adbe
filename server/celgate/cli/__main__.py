import sys

from celgate.cli import main

sys.exit(main())
