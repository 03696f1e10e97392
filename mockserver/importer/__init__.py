"""The one path every import takes, task or not: options, the job, the unit of work
over the store, slices taking turns, and items made to fail on purpose."""
