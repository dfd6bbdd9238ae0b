from gitward.cli.main import main

main()
