from ninja.cli import main

main()
