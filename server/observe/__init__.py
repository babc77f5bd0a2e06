"""What the proxy did: per-request records, their log line, Prometheus metrics and the usage history."""
