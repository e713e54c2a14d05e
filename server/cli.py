"""The ``rulecraft`` command.

Language commands (check, format, evaluate, demo) work on rule-set folders and need no server. Server commands
(serve, users, tokens, releases, recovery, migrations) are added by the server modules; each imports what it needs
only when it runs, so ``rulecraft check`` starts fast.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

import rules_dsl
from rules_dsl import DataError, RuleError


def _print_problems(problems, stream=None, folder: Path | None = None) -> None:
    """One ``file:line:column: message`` line per problem; files inside ``folder`` are printed with its path,
    so that the location can be opened from the terminal wherever the command ran."""
    for problem in problems:
        if folder is not None and problem.file and folder.is_dir():
            problem = problem.in_file(str(folder / problem.file))
        click.echo(str(problem), file=stream or sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rules_dsl.__version__, prog_name="rulecraft")
def main() -> None:
    """Rulecraft: plain-language expert rules, versioned like code, used by ML systems."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
def check(path: Path) -> None:
    """Check a rule-set folder: prints file:line:column: message for each problem; exit code 1 on errors."""
    try:
        ruleset = rules_dsl.load(path)
    except RuleError as e:
        _print_problems(e.problems, folder=path)
        errors = len(e.errors)
        click.echo(f"{path}: {errors} error{'s' * (errors != 1)}", err=True)
        sys.exit(1)
    _print_problems(ruleset.warnings, folder=path)
    warnings = len(ruleset.warnings)
    click.echo(f"{path}: {len(ruleset.rules)} rules, no errors"
               + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""))


@main.command(name="format")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--check", "only_check", is_flag=True, help="Only report files that are not in canonical form.")
def format_command(path: Path, only_check: bool) -> None:
    """Rewrite rule files in canonical form (names in the vocabulary's spelling when the rule checks clean)."""
    files = sorted((path / "rules").glob("*.rule")) if path.is_dir() else [path]
    vocabulary = settings = None
    if path.is_dir():
        try:
            from rules_dsl.ruleset import read_yaml

            settings = rules_dsl.Settings.from_dict(read_yaml(path / "ruleset.yaml", "ruleset.yaml"))
            vocabulary = rules_dsl.Vocabulary.from_dict(read_yaml(path / "vocabulary.yaml", "vocabulary.yaml"))
        except RuleError as e:
            _print_problems(e.problems, folder=path)
            click.echo("Formatting syntax only (the vocabulary has errors).", err=True)
    changed = failed = 0
    for file in files:
        if file.is_symlink():  # never write through a link to a file outside the rule set
            click.echo(f"{file}: rule files must be ordinary files, not links.", err=True)
            failed += 1
            continue
        original = file.read_bytes()
        try:
            syntax = rules_dsl.parse_rule(original)
            if vocabulary is not None:
                checked = rules_dsl.check(syntax, vocabulary, settings.outcome)
                if not checked.errors:
                    syntax = checked.rule
            text = (rules_dsl.format_syntax(syntax) + "\n").encode("utf-8")
        except RuleError as e:
            _print_problems(p.in_file(str(file)) for p in e.problems)
            failed += 1
            continue
        if text != original:
            changed += 1
            if only_check:
                click.echo(f"{file}: not in canonical form")
            else:
                file.write_bytes(text)
                click.echo(f"{file}: formatted")
    click.echo(f"{len(files)} rule files, {changed} {'to format' if only_check else 'formatted'}"
               + (f", {failed} with errors" if failed else ""))
    if failed or (only_check and changed):
        sys.exit(1)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Cases as CSV, one column per feature (by data column name).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write one 0/1 column per rule.")
@click.option("--keep", multiple=True, help="Input columns to copy to the output first (e.g. a case id).")
@click.option("--predict/--no-predict", default=False, help="Also write the rule set's predicted label.")
@click.option("--chunk-rows", default=200_000, show_default=True, help="Rows read at a time.")
def evaluate(path: Path, data_path: Path, out_path: Path, keep: tuple[str, ...], predict: bool,
             chunk_rows: int) -> None:
    """Run every rule on every case of a CSV file."""
    import pandas as pd
    from tqdm import tqdm

    try:
        ruleset = rules_dsl.load(path)
    except RuleError as e:
        _print_problems(e.problems)
        sys.exit(1)
    total = max(sum(1 for _ in data_path.open("rb")) - 1, 0)
    rows = fired_total = 0
    try:
        with tqdm(total=total, unit="rows", disable=total < chunk_rows or not sys.stderr.isatty(),
                  file=sys.stderr) as progress:
            for i, chunk in enumerate(pd.read_csv(data_path, chunksize=chunk_rows, low_memory=False)):
                missing = [c for c in keep if c not in chunk.columns]
                if missing:
                    raise DataError(f"--keep: the data has no column '{missing[0]}'.", missing[0])
                fired = ruleset.matches(chunk)
                out = pd.concat([chunk[list(keep)], fired.astype("int8")], axis=1)
                if predict:
                    out[ruleset.outcome.name] = ruleset.decide(chunk).fillna("")
                out.to_csv(out_path, mode="w" if i == 0 else "a", header=i == 0, index=False)
                rows += len(chunk)
                fired_total += int(fired.to_numpy().sum())
                progress.update(len(chunk))
    except DataError as e:
        click.echo(f"{data_path}: {e.message}", err=True)
        sys.exit(2)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        click.echo(f"{data_path}: cannot read the CSV file: {e}", err=True)
        sys.exit(2)
    click.echo(f"{rows:,} cases x {len(ruleset.active_rules)} rules -> {out_path} ({fired_total:,} rule firings)")


@main.command()
def demo() -> None:
    """Check the demo rule set and evaluate it on the breast-cancer data shipped with scikit-learn."""
    from rules_dsl.demo import demo_path, reference_data

    path = demo_path()
    try:
        ruleset = rules_dsl.load(path)
    except RuleError as e:  # the demo is checked by the test suite; this is a last line of defence
        _print_problems(e.problems)
        sys.exit(1)
    click.echo(f"Rule set: {ruleset.title} ({len(ruleset.active_rules)} rules, checked: no errors, "
               f"{len(ruleset.warnings)} warnings)")
    data = reference_data()
    truth = data[ruleset.outcome.name]
    fired = ruleset.matches(data)
    predicted = ruleset.decide(data)
    click.echo(f"Evaluated on {len(data)} cases of the Wisconsin breast-cancer data:\n")
    click.echo(f"  {'rule':<40} {'fires on':>8} {'precision':>9}")
    for rule in ruleset.active_rules:
        hits = fired[rule.id]
        label = rule.conclusion.label if rule.conclusion else None
        precision = (truth[hits] == label).mean() if hits.any() and label else float("nan")
        click.echo(f"  {rule.name[:40]:<40} {int(hits.sum()):>8} {precision:>9.0%}")
    decided = predicted.notna()
    accuracy = (predicted[decided] == truth[decided]).mean()
    click.echo(f"\n  Rule set as a predictor ({ruleset.policy.kind}): accuracy {accuracy:.1%} on "
               f"{int(decided.sum())} cases it answered ({decided.mean():.0%} of all).")


if __name__ == "__main__":  # pragma: no cover
    main()
