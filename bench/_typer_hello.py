"""A minimal two-command Typer app: the floor for any Typer CLI's start-up (bench_size.py)."""

import typer

app = typer.Typer()


@app.command()
def size(input: str = "", k: str = "1") -> None:
    print(input, k)


@app.command()
def other() -> None:
    pass


if __name__ == "__main__":
    app()
