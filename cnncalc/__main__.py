"""python -m cnncalc"""

from cnncalc.cli import main

main()
