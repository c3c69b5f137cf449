"""A click test runner that keeps stderr apart on every supported click version."""

from click.testing import CliRunner


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2 mixes the streams unless told not to
    except TypeError:  # click >= 8.2 always keeps them apart and dropped the argument
        return CliRunner()
