"""Settings for the load test: the portal's own, with static files collected into the run's
work directory instead of the repository's ``staticfiles/`` (which a test run may be reading)."""

import os

from portal.settings import *  # noqa: F403

STATIC_ROOT = os.environ["PORTAL_LOAD_STATIC_ROOT"]
