"""Mail adapters: the SMTP listener, the IMAP poller, the MTA pipe, and outbound delivery."""
