"""The gateway integration: everything the portal knows about a Token API gateway.

``protocol`` holds the OAuth vocabulary shared with the models and the sandbox; ``client`` makes
the calls (the only importer of ``requests``) with one ``credentials.ClientCredentials``;
``answers`` reads what comes back; ``errors`` says what went wrong, in words for people;
``limits`` and ``connections`` bound each call in time and the calls in flight per gateway;
``jwt`` reads a JWT's claims for display. Callers import modules:
``from portal.gateway import client``.
"""
