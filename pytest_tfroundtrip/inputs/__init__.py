"""What a model takes and what to feed it: input specs, value domains, hypothesis strategies."""
