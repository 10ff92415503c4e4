"""`python -m sciloom ...`: the same command as the `sciloom` script."""
from sciloom.cli import main

main()
