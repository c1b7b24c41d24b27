from aiterms.cli import main

main()
