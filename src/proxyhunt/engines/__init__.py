"""Ways to run the rule pack at scale: the raw-line prefilter, parallel local scans, Spark."""
