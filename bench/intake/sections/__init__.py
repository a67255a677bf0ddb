"""The three sections of the intake benchmark, each measuring and printing one figure set."""
