"""The intake benchmark's harness (messages, client process, servers, databases, profiling,
figures) and its sections; ``bench/intake_bench.py`` runs them."""
