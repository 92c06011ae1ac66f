"""python -m balrog.wsgi module:app --bind 127.0.0.1:8000 --workers N (see balrog.wsgi.cli)."""

import sys

from .cli import main

sys.exit(main())
