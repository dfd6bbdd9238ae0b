"""The command line: argv -> calls. The only layer that prints, colours, and exits."""
