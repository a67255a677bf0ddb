"""The reminder engine: APScheduler wakes it at the next due instant; the database decides."""
