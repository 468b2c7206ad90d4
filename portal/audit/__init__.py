"""The audit trail: an append-only, HMAC hash-chained log of every action.

For other apps:
- write with ``portal.audit.services.record(...)`` inside the service's transaction - nothing
  else writes the table. On failure it raises ``AuditWriteError`` and dooms the caller's
  transaction (fail closed); ``AuditFailureMiddleware`` turns an unhandled one into a 503 page
  that says the action was not performed. Details never hold secrets: keys named like one
  (``FORBIDDEN_DETAIL_KEYS``) raise ValueError; put tokens in as fingerprints.
- make rows link to your objects with ``portal.audit.targets.register_target("app.model", fn)``
  in your ``AppConfig.ready()``; ``fn(event)`` returns a URL or None.

Operators: ``manage.py audit_checkpoint [FILE | --print [--json]]`` from cron, and
``manage.py verify_audit [--checkpoint FILE] [--since [SEQ]]``; both use
``PORTAL_AUDIT_CHECKPOINT_FILE`` when set.
"""
