"""Run the command-line interface: ``python -m qualmodel``."""

from qualmodel.cli import main

if __name__ == "__main__":
    main()
