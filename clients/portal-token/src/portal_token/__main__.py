import sys

from portal_token.cli import main

sys.exit(main())
