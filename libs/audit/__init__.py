"""The audit record, its hash chain and signed checkpoints (issue 13): shared by the audit
service (which writes and signs), the management API and operators (who verify)."""
