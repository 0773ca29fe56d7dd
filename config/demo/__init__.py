"""Demo data and benchmarks: what `make run` seeds and what the speed figures in the README are
measured with.  Installed by the local and test settings, never by production's: the web and
worker processes never import it, and its one table (SyntheticTruth) is not in the production
schema.  It may import every app; no app imports it."""
