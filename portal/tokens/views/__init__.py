"""The tokens app's pages: ``issue`` (generate, show once), ``manage`` (renew, revoke) and
``history`` (the team history, its CSV export, one token's detail)."""
