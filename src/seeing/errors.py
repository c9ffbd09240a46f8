"""The one error type the CLI turns into a one-line message and exit status 2."""

import click


class UserError(click.ClickException):
    """Bad input from the user: a missing path, an empty dataset, a corrupt file. Exit status 2."""

    exit_code = 2

    def format_message(self) -> str:
        return " ".join(str(self.message).split())  # one line, always
