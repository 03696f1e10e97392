"""Tasks: the model, how they progress, and the engine that runs them."""
