"""Exit codes of ``proxyhunt``, documented in the README."""

CLEAN = 0  # every input read, no hit
HITS = 1  # every input read, hits reported
USAGE = 2  # bad arguments, missing path, unusable option value
RULES = 3  # a rule or allowlist file cannot be loaded or evaluated
PARTIAL = 4  # some input was lost (bad records, unreadable files); no hit
PARTIAL_HITS = 5  # some input was lost, and hits were reported
NO_INPUT = 6  # nothing could be read at all
STRICT = 7  # --strict and some input was lost (hits, if any, are still written)
VALIDATION = 8  # validate: a scenario missed or produced an unexpected hit
INTERRUPTED = 130
TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports a process it ended
