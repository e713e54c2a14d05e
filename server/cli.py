"""The ``rulecraft`` command.

Language commands (check, format, evaluate, demo) work on rule-set folders and need no server. Server commands
(serve, users, tokens, releases, recovery, migrations) are added by the server modules; each imports what it needs
only when it runs, so ``rulecraft check`` starts fast.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

import rules_dsl
from rules_dsl import DataError, RuleError
from rules_dsl.layout import EXAMPLES_FILE, RULE_SUFFIX, RULES_FOLDER, SETTINGS_FILE, VOCABULARY_FILE, read_yaml
from rules_dsl.tables import CsvError, csv_chunks, read_csv


def _refuse(error, *, before: str = "", after: str = "", status: int = 1) -> NoReturn:
    """A service's refusal (a ``server.services.errors.ServiceError``) as the CLI says it: the message on standard
    error, and a non-zero exit."""
    click.echo(f"{before}{error.message}{after}", err=True)
    sys.exit(status)


def _print_problems(problems, stream=None, folder: Path | None = None) -> None:
    """One ``file:line:column: message`` line per problem; files inside ``folder`` are printed with its path,
    so that the location can be opened from the terminal wherever the command ran."""
    for problem in problems:
        if folder is not None and problem.file and folder.is_dir():
            problem = problem.in_file(str(folder / problem.file))
        click.echo(str(problem), file=stream or sys.stderr)


def _load_or_exit(path: Path):
    """The rule set in a folder or bundle file, or its problems printed (file:line:column) and exit status 1."""
    try:
        return rules_dsl.load(path)
    except RuleError as e:
        _print_problems(e.problems)
        sys.exit(1)


def _print_data_report(report, most: int = 8) -> None:
    """The data report (RuleSet.data_report) as a short block: at most ``most`` lines, the rest counted."""
    lines = report.lines()
    click.echo("Data check:")
    for line in lines[:most]:
        click.echo(f"  {line}")
    if len(lines) > most:
        click.echo(f"  ... and {len(lines) - most} more (RuleSet.data_report gives them all)")


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
    examples, cases = _check_examples(path, ruleset)
    tests = _check_tests(path, ruleset)
    _print_problems([*ruleset.warnings, *examples, *tests], folder=path)
    errors = sum(p.is_error for p in examples)
    tests_errors = sum(p.is_error for p in tests)
    if errors or tests_errors:
        where = [f"{n} error{'s' * (n != 1)} in {file}" for n, file in ((errors, EXAMPLES_FILE),
                                                                        (tests_errors, "tests.csv")) if n]
        click.echo(f"{path}: {', '.join(where)}", err=True)
        sys.exit(1)
    warnings = len(ruleset.warnings) + len(examples) + len(tests)


    warnings = len(ruleset.warnings) + len(examples)
    findings = _print_findings(path, ruleset)
    click.echo(f"{path}: {len(ruleset.rules)} rules, no errors"
               + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else "")
               + (f"; {cases} example case{'s' * (cases != 1)} checked" if cases else "")
               + (f"; {findings} finding{'s' * (findings != 1)} about the logic (warnings)" if findings else ""))


def _check_examples(path: Path, ruleset) -> tuple[list, int]:
    """The problems of a folder's examples.csv (its values against the vocabulary, its labels against the
    outcome), and how many cases it holds."""
    from rules_dsl.examples import check_examples

    file = path / EXAMPLES_FILE
    if not path.is_dir() or not file.is_file():
        return [], 0
    return check_examples(file.read_bytes(), ruleset), 0 if ruleset.examples is None else len(ruleset.examples)


def _check_tests(path: Path, ruleset) -> list:
    """The problems of a folder's tests.csv: values against the vocabulary, expected answers against the outcome,
    rule names against the rules."""
    from rules_dsl.expected import check_tests
    from rules_dsl.layout import TESTS_FILE

    file = path / TESTS_FILE
    if not path.is_dir() or not file.is_file():
        return []
    return check_tests(file.read_bytes(), ruleset)


@main.command(name="format")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--check", "only_check", is_flag=True, help="Only report files that are not in canonical form.")
def format_command(path: Path, only_check: bool) -> None:
    """Rewrite rule files in canonical form (names in the vocabulary's spelling when the rule checks clean)."""
    files = sorted((path / RULES_FOLDER).glob("*" + RULE_SUFFIX)) if path.is_dir() else [path]
    vocabulary = settings = None
    if path.is_dir():
        try:
            settings = rules_dsl.Settings.from_dict(read_yaml(path / SETTINGS_FILE, SETTINGS_FILE))
            vocabulary = rules_dsl.Vocabulary.from_dict(read_yaml(path / VOCABULARY_FILE, VOCABULARY_FILE))
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
              help="Cases as CSV (or Parquet with --engine polars, duckdb or spark), one column per feature "
                   "(by data column name).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write one 0/1 column per rule (.csv, or .parquet with another engine than pandas).")
@click.option("--keep", multiple=True, help="Input columns to copy to the output first (e.g. a case id).")
@click.option("--predict/--no-predict", default=False, help="Also write the rule set's predicted label.")
@click.option("--chunk-rows", default=200_000, show_default=True, help="Rows read at a time.")
@click.option("--engine", type=click.Choice(["pandas", "polars", "duckdb", "spark"]), default="pandas",
              show_default=True, help="Where the rules run: polars and duckdb stream the file (bounded memory, "
              "for files larger than memory); spark runs a local Spark session.")
@click.option("--decide/--no-decide", default=False,
              help="Also write the rule set's answer: columns decision, deciding_rule and confidence.")
def evaluate(path: Path, data_path: Path, out_path: Path, keep: tuple[str, ...], predict: bool,
             chunk_rows: int, engine: str, decide: bool) -> None:
    """Run every rule on every case of a CSV (or Parquet) file."""
    import pandas as pd
    from tqdm import tqdm

    ruleset = _load_or_exit(path)
    keep = tuple(dict.fromkeys(keep))
    clash = next((c for c in keep if c in ruleset.rule_ids), None)
    if clash is not None:
        click.echo(f"{data_path}: --keep: the column '{clash}' has the name of the rule '{clash}', whose 0/1 column "
                   "the output holds. Rename the column in the data, then keep it under its new name.", err=True)
        sys.exit(2)
    if engine != "pandas" or decide:
        _evaluate_on_engine(ruleset, engine, data_path, out_path, keep, predict, decide)
        return
    prediction = _prediction_column(ruleset.outcome.name, [*keep, *ruleset.rule_ids])
    total = max(sum(1 for _ in data_path.open("rb")) - 1, 0)
    rows = fired_total = 0
    report = None
    try:
        with tqdm(total=total, unit="rows", disable=total < chunk_rows or not sys.stderr.isatty(),
                  file=sys.stderr) as progress:
            for i, chunk in enumerate(csv_chunks(data_path, chunk_rows)):
                missing = [c for c in keep if c not in chunk.columns]
                if missing:
                    raise DataError(f"--keep: the data has no column '{missing[0]}'.", missing[0])
                fired = ruleset.matches(chunk)
                report = ruleset.data_report(chunk) if report is None else report + ruleset.data_report(chunk)
                out = pd.concat([chunk[list(keep)], fired.astype("int8")], axis=1)
                if predict:
                    out[prediction] = ruleset.decide(chunk).fillna("")
                out.to_csv(out_path, mode="w" if i == 0 else "a", header=i == 0, index=False)
                rows += len(chunk)
                fired_total += int(fired.to_numpy().sum())
                progress.update(len(chunk))
    except CsvError as e:
        click.echo(f"{data_path}: cannot read the CSV file: {e.message}", err=True)
        sys.exit(2)
    except DataError as e:
        # pandas numbers a file's rows from 0 after the header line, across chunks: row r is line r + 2
        line = f" (line {e.row + 2} of the file)" if isinstance(e.row, int) else ""
        click.echo(f"{data_path}: {e.message}{line}", err=True)
        sys.exit(2)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        click.echo(f"{data_path}: cannot read the CSV file: {e}", err=True)
        sys.exit(2)
    click.echo(f"{rows:,} cases x {len(ruleset.active_rules)} rules -> {out_path} ({fired_total:,} rule firings)")
    if predict and prediction != ruleset.outcome.name:
        click.echo(f"The predicted labels in column '{prediction}' (the column '{ruleset.outcome.name}' is the data's "
                   "own, kept as it was).")
    if report is not None:
        _print_data_report(report)


def _prediction_column(outcome: str, taken: list[str]) -> str:
    """The outcome's name, or "<outcome> (predicted)" when a kept column (or a rule) has that name: a kept column
    is never overwritten (a kept true label overwritten by the prediction read as 100% agreement)."""
    name = outcome
    if name in taken:
        name = f"{outcome} (predicted)"
        while name in taken:
            name += "_"
    return name


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled cases as CSV.")
@click.option("--label", "label_column", required=True, help="The column holding the true outcome.")
@click.option("--group", "group_column", default=None, help="A column to split the figures by (e.g. sex).")
@click.option("--bands", default=4, show_default=True, type=click.IntRange(2, 10),
              help="How many bands a --group column of numbers is cut into (about as many cases each).")
def analyze(path: Path, data_path: Path, label_column: str, group_column: str | None, bands: int) -> None:
    """How good the rules are on labelled cases: per rule and for the whole rule set (and by subgroup)."""
    import pandas as pd

    from rules_dsl.analysis import analyze as run
    from rules_dsl.analysis import by_subgroup
    from server.services.datasets import split as split_by
    from server.services.errors import ServiceError

    ruleset = _load_or_exit(path)
    try:
        data = read_csv(data_path)
        if data.empty:
            raise DataError("The file holds no cases (only its first line, naming the columns).")
        result = run(ruleset, data, label_column)
        split = split_by(data, group_column, bands) if group_column else None  # bands cut as the API cuts them
        groups = by_subgroup(ruleset, split.frame, label_column, split.group_column,
                             figures=_gap_figures(ruleset, split.column)) if split else None
    except (DataError, KeyError, ValueError, pd.errors.ParserError) as e:
        click.echo(f"{data_path}: {getattr(e, 'message', e)}", err=True)
        sys.exit(2)
    except ServiceError as e:
        _refuse(e, before=f"{data_path}: ", status=2)
    _print_data_report(ruleset.data_report(data))
    click.echo(_summary_lines(ruleset.title, result) + "\n")
    table = result.rules.drop(columns=["name"], errors="ignore").astype({"correct": "Int64"})  # a count, not 124.00
    table = table.astype(object).where(table.notna(), "-")
    click.echo(table.to_string(float_format=lambda x: f"{x:.2f}"))
    if groups is not None:
        click.echo("\n" + _group_lines(split, groups))


def _gap_figures(ruleset, column: str) -> tuple[str, ...]:
    """The figures compared between groups: how often a rule fires differs by design between groups cut from a
    column the rules read (all the largest gaps were such), so that one is left out then."""
    from rules_dsl.analysis import GAP_FIGURES

    read = column in ruleset.vocabulary.by_column()
    return tuple(f for f in GAP_FIGURES if not (read and f == "rule coverage"))


def _share(analysis, figure: str, rule: str | None = None, digits: int = 0) -> str:
    """'80% (12 of 15; 55%-93%)': a share with the counts behind it and its 95% Wilson interval, so that a figure
    from a small group reads as the uncertain thing it is."""
    from rules_dsl.analysis import wilson_interval

    successes, cases = analysis.counts(figure, rule)
    if not cases:
        return "- (no cases)"
    low, high = wilson_interval(successes, cases)
    return f"{successes / cases:.{digits}%} ({successes:,} of {cases:,}; {low:.0%}-{high:.0%})"


def _summary_lines(title: str, result) -> str:
    """Accuracy on the cases the rules answer beside the share answered, and accuracy on all cases: counting
    abstentions as wrong made a rule set that abstains often read as "below the baseline"."""
    s = result.summary
    answered, rows = result.counts("coverage")
    lines = [f"{title}: {rows:,} cases",
             f"  answered by the rules: {answered:,} of {rows:,} cases ({s['coverage'] or 0:.0%})"]
    if answered:
        lines.append("  accuracy on the cases answered: " + _share(result, "accuracy answered", digits=1)
                     .replace(";", "; 95% interval", 1))
    unanswered = f" (the {rows - answered:,} unanswered counted as wrong)" if answered < rows else ""
    lines.append(f"  accuracy on all cases: {s['accuracy'] or 0:.1%}{unanswered}")
    baseline = s["baseline"]
    lines.append(f"  majority-class baseline (always \"{baseline['label']}\"): {baseline['accuracy'] or 0:.1%}")
    return "\n".join(lines)


def _group_lines(split, groups) -> str:
    if split.bands:
        heading = (f"By {split.column}, cut into {len(split.bands)} bands of about as many cases each "
                   "(a value on a boundary goes to the higher band)")
        order = [b for b in split.bands if b in groups.by_group] + [g for g in groups.by_group
                                                                     if g not in split.bands]
    else:
        heading, order = f"By {split.column}", list(groups.by_group)
    lines = [heading + "; in brackets the counts and the 95% interval (wide for small groups):",
             f"  {'group':<16} {'cases':>6}  {'answered':<10} accuracy on the cases answered"]
    for group in order:
        analysis = groups.by_group[group]
        answered, rows = analysis.counts("coverage")
        share, _, counts = (_share(analysis, "accuracy answered", digits=1) if answered else "-").partition(" ")
        lines.append(f"  {group:<16} {rows:>6}  {f'{answered:,} ({answered / rows:.0%})':<10} {share:>6} {counts}")
    if groups.gaps:
        lines += ["", "Largest gaps between groups:"]
    for gap in groups.gaps:
        what = _GAP_WORDS[gap.figure] + (f" of {gap.rule}" if gap.rule else "")
        high, low = groups.by_group[gap.high_group], groups.by_group[gap.low_group]
        line = (f"  {what}: {gap.high_group} {_share(high, gap.figure, gap.rule)} vs "
                f"{gap.low_group} {_share(low, gap.figure, gap.rule)}")
        if _overlap(high, low, gap.figure, gap.rule):
            line += "; the intervals overlap: the gap may be chance"
        lines.append(line)
    return "\n".join(lines)


_GAP_WORDS = {"accuracy": "accuracy on all cases", "coverage": "answered", "rule coverage": "fires",
              "rule precision": "precision"}


def _overlap(high, low, figure: str, rule: str | None) -> bool:
    from rules_dsl.analysis import wilson_interval

    a, b = wilson_interval(*high.counts(figure, rule)), wilson_interval(*low.counts(figure, rule))
    return a is not None and b is not None and a[0] <= b[1]


@main.command()
def demo() -> None:
    """Check the demo rule set and evaluate it on the breast-cancer data shipped with scikit-learn."""
    from rules_dsl.demo import demo_path, reference_data

    path = demo_path()
    ruleset = _load_or_exit(path)  # the demo is checked by the test suite; this is a last line of defence
    click.echo(f"Rule set: {ruleset.title} ({len(ruleset.active_rules)} rules, checked: no errors, "
               f"{len(ruleset.warnings)} warnings)")
    data = reference_data()
    truth = data[ruleset.outcome.name]
    fired = ruleset.matches(data)
    predicted = ruleset.decide(data)
    click.echo(f"Evaluated on {len(data)} cases of the Wisconsin breast-cancer data:\n")
    click.echo(f"  {'rule':<40} {'fires on':>8} {'precision':>9}")
    for rule in sorted(ruleset.active_rules, key=lambda r: (-r.priority, r.id)):  # the order rules are tried
        hits = fired[rule.id]
        label = rule.conclusion.label if rule.conclusion else None
        if label is None:  # a rule without a conclusion is a feature only: it has no precision
            shown = "feature"
        else:
            shown = f"{(truth[hits] == label).mean():.0%}" if hits.any() else "-"
        click.echo(f"  {rule.name[:40]:<40} {int(hits.sum()):>8} {shown:>9}")
    decided = predicted.notna()
    accuracy = (predicted[decided] == truth[decided]).mean()
    click.echo(f"\n  Rule set as a predictor ({ruleset.policy.kind}): accuracy {accuracy:.1%} on "
               f"{int(decided.sum())} cases it answered ({decided.mean():.0%} of all).")
    if not decided.all():
        click.echo(f"  On all {len(data)} cases, counting the {int((~decided).sum())} it abstained on as wrong: "
                   f"{(predicted == truth).mean():.1%}.")


# ---- the server and the workspace ------------------------------------------------------------------------------

def workspace_options(command):
    """--data-dir and --database-url, shared by every command that opens the workspace."""
    command = click.option("--database-url", envvar="RULECRAFT_DATABASE_URL", default=None,
                           help="SQLAlchemy URL; default SQLite in the data folder.")(command)
    command = click.option("--data-dir", envvar="RULECRAFT_DATA_DIR", default="rulecraft-data", show_default=True,
                           type=click.Path(file_okay=False, path_type=Path),
                           help="Folder holding the rules repository, the database and data sets.")(command)
    return command


def _overrides(data_dir: Path, database_url: str | None, **more) -> dict:
    overrides = {"DATA_DIR": data_dir, **more}
    if database_url:
        overrides["DATABASE_URL"] = database_url
    return overrides


def _runtime(data_dir: Path, database_url: str | None, **more):
    """The workspace, after the database's schema is checked (a new database is created; an old one is refused
    with what to run, and the command stops)."""
    return _open_runtime(_overrides(data_dir, database_url, **more))


def _open_runtime(overrides: dict):
    from server.config import ConfigError
    from server.lifecycle import open_runtime
    from server.migrate import SchemaError

    try:
        runtime = open_runtime(overrides)
    except SchemaError as e:
        click.echo(f"Not started: {e.message}", err=True)
        sys.exit(1)
    except ConfigError as e:
        click.echo(f"Not started: {e}", err=True)
        sys.exit(1)
    context = click.get_current_context(silent=True)
    if context is not None:  # a command run in-process (tests, scripts) must not leave database connections open
        context.call_on_close(lambda: _close_runtime(runtime))
    return runtime


def _close_runtime(runtime) -> None:
    runtime.store.close()
    runtime.sessions.kw["bind"].dispose()


@main.command()
@workspace_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", envvar="RULECRAFT_PORT", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--secret-key", envvar="RULECRAFT_SECRET_KEY", default=None,
              help="Key that signs sign-in sessions (a new one ends them all); by default one is generated "
              "and kept in the data folder.")
@click.option("--demo", is_flag=True, help="Also seed the demo rule set and demo accounts (one-time passwords).")
@click.option("--trusted-proxies", envvar="RULECRAFT_TRUSTED_PROXIES", default=0, show_default=True,
              type=click.IntRange(0, 10), help="How many reverse proxies stand in front of the server: their "
              "X-Forwarded-For and X-Forwarded-Proto are believed for that many hops (0: none).")
@click.option("--metrics", is_flag=True, envvar="RULECRAFT_METRICS",
              help="Let anyone who can reach the server read /metrics (else only a token of scope metrics).")
@click.option("--threads", type=int, default=None, help="Threads per worker [RULECRAFT_THREADS, 4].")
@click.option("--timeout", type=int, default=None,
              help="Seconds a request may run before its worker is restarted [RULECRAFT_TIMEOUT, 60].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None,
              help="Lowest level logged [RULECRAFT_LOG_LEVEL, info: a line per request].")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as key=value text or JSON [RULECRAFT_LOG_FORMAT, text].")
@click.option("--session-hours", type=int, default=None,
              help="Hours a browser sign-in lasts [RULECRAFT_SESSION_HOURS, 12].")
@click.option("--token-days", type=int, default=None,
              help="Days a token lasts when none is given [RULECRAFT_TOKEN_DAYS, 90].")
def serve(data_dir: Path, database_url: str | None, host: str, port: int, workers: int, secret_key: str | None,
          demo: bool, trusted_proxies: int, metrics: bool, **settings) -> None:
    """Start Rulecraft (creates the data folder and database when missing; an old schema is refused).
    Every setting is in docs/operations.md (flags win over RULECRAFT_... environment variables)."""
    import os

    from server.config import SETTING
    from server.lifecycle import housekeep, seed_demo, start
    from server.lifecycle import serve as run_server

    os.umask(0o077)  # everything the server and its Git processes write is owner-only (see server/config.py)
    overrides = _overrides(data_dir, database_url, TRUSTED_PROXIES=trusted_proxies)
    for name, value in settings.items():
        if value is not None:
            setting = SETTING[name.upper()]
            try:
                overrides[setting.key] = setting.parse(str(value))
            except ValueError as e:
                raise click.BadParameter(str(e).replace(setting.env, setting.flag), param_hint=setting.flag) \
                    from None
    if secret_key:
        overrides["SECRET_KEY"] = secret_key
    if metrics:
        overrides["METRICS"] = True
    _hold_data_folder(data_dir, "Stop it first, or give this server another --data-dir.")
    runtime = _open_runtime(overrides)
    from server import logs

    # The master's own lines (a worker that died during a save) with timestamps too; each worker's app does the same
    logs.configure(runtime.config["LOG_LEVEL"], runtime.config["LOG_FORMAT"], runtime.config["LOG_REPEAT_SECONDS"])
    report = start(runtime)
    if report.actions:
        click.echo("Recovered after an interruption:\n" + str(report))
    purged, pruned = housekeep(runtime)
    click.echo(f"Housekeeping: purged {purged}; pruned {pruned} unreferenced object(s) of failed saves.")
    click.echo(f"Rulecraft: data in {runtime.config['DATA_DIR']}")
    from server.signing import load_or_create

    key = load_or_create(runtime.config["DATA_DIR"])
    click.echo(f"Bundles are signed with key {key.id}; its public key (also at /api/signing-key):\n"
               + key.public_pem.strip())
    if demo:
        people = seed_demo(runtime)
        # The name first, as the sign-in page asks for it (people typed the role, printed first, as their name).
        click.echo("Demo accounts (sign in with the name and the one-time password, then choose your own password):")
        for name, role, password in people:
            shown = password if password else "(already chose a password)"
            click.echo(f"  name: {name:<18} one-time password: {shown:<26} ({role})")
    click.echo(f"Open http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/ "
               f"(stop with Ctrl+C)", err=False)
    sys.stdout.flush()
    run_server(overrides, host, port, workers, runtime.config)


@main.command(name="create-user")
@workspace_options
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "author", "reviewer", "auditor", "ml-engineer"]))
@click.option("--email", default=None, help="Shown as the author of the person's changes.")
def create_user(data_dir: Path, database_url: str | None, name: str, role: str, email: str | None) -> None:
    """Add a person; the password is read from standard input."""
    from server.services import accounts
    from server.services.errors import ServiceError

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        try:
            user = accounts.create_person(db, None, name, role, password, email, note=" from the command line")
        except ServiceError as e:
            _refuse(e, before="Not created: ")
        click.echo(f"Created {user.name} ({user.role}).")


@main.command(name="create-token")
@workspace_options
@click.argument("user")
@click.option("--scope", required=True, type=click.Choice(["read", "predict", "write", "metrics"]))
@click.option("--days", default=None, type=click.IntRange(1, 3650),
              help="Days it lasts [RULECRAFT_TOKEN_DAYS, 90].")
@click.option("--name", "token_name", default="", help="A label to tell tokens apart.")
def create_token(data_dir: Path, database_url: str | None, user: str, scope: str, days: int | None,
                 token_name: str):
    """Make an API token for a person; it is printed once and only its hash is kept."""
    from server.services import accounts

    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        person = _person_or_exit(db, user)
        secret, _token = accounts.create_token(db, person, scope, token_name, days, note=" from the command line")
    click.echo(secret)


# ---- people's lifecycle: disable, enable, tokens, revoke-token, reset-password, unlock (each one audit row) -----

def _person_or_exit(db, name: str):
    from server.services import accounts

    person = accounts.find_person(db, name)
    if person is None:
        click.echo(f"There is no one called '{name}'.", err=True)
        sys.exit(1)
    return person


def _change_person(data_dir: Path, database_url: str | None, name: str, action: str, done: str,
                   password: str | None = None) -> None:
    """The service's ``action`` on the person, recorded in the audit log as done from the command line."""
    from server.services import accounts
    from server.services.errors import ServiceError

    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        person = _person_or_exit(db, name)
        try:
            accounts.change_person(db, None, person, action, f"{done} from the command line", password)
        except ServiceError as e:
            _refuse(e, before="Not done: ")
        click.echo(f"{person.name}: {done}.")


@main.command()
@workspace_options
@click.argument("name")
def disable(data_dir: Path, database_url: str | None, name: str) -> None:
    """Stop a person signing in; their sessions end and their tokens are revoked at once."""
    _change_person(data_dir, database_url, name, "user.disable", "disabled, sessions ended, tokens revoked")


@main.command()
@workspace_options
@click.argument("name")
def enable(data_dir: Path, database_url: str | None, name: str) -> None:
    """Let a disabled person sign in again (their old tokens stay revoked)."""
    _change_person(data_dir, database_url, name, "user.enable", "enabled")


@main.command(name="reset-password")
@workspace_options
@click.argument("name")
def reset_password(data_dir: Path, database_url: str | None, name: str) -> None:
    """Give a person a one-time password (read from standard input), to change at the next sign-in; their
    sessions end, their tokens are revoked and failed sign-ins are forgotten."""
    if sys.stdin.isatty():
        password = click.prompt("One-time password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    _change_person(data_dir, database_url, name, "user.password-reset",
                   "one-time password set, sessions ended, tokens revoked", password)


@main.command()
@workspace_options
@click.argument("name")
def unlock(data_dir: Path, database_url: str | None, name: str) -> None:
    """Forget a person's failed sign-ins, so they need not wait before the next attempt."""
    _change_person(data_dir, database_url, name, "user.unlock", "failed sign-ins forgotten")


@main.command()
@workspace_options
@click.argument("name")
def tokens(data_dir: Path, database_url: str | None, name: str) -> None:
    """List a person's tokens (id, scope, name, expiry, revoked); never their secrets."""
    from server.services import accounts

    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        person = _person_or_exit(db, name)
        listed = accounts.tokens_of(db, person)
        for t in listed:
            state = "revoked" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d}"
            click.echo(f"{t.id:>6}  {t.prefix}...  {t.scope:<8} {state:<18} {t.name}")
        if not listed:
            click.echo(f"{person.name} has no tokens.")


@main.command(name="revoke-token")
@workspace_options
@click.argument("token_id", type=click.IntRange(1, 999_999_999))
def revoke_token(data_dir: Path, database_url: str | None, token_id: int) -> None:
    """Revoke a token by its id (see `rulecraft tokens NAME`); it stops working at once."""
    from server.services import accounts
    from server.services.errors import NotFound

    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        try:
            token = accounts.revoke_token(db, None, token_id)
        except NotFound:
            click.echo(f"There is no token {token_id}.", err=True)
            sys.exit(1)
        click.echo(f"Revoked token {token_id} ({token.prefix}...) of {token.user.name}.")


@main.command(name="export")
@workspace_options
@click.argument("ruleset")
@click.option("--version", "revision", default=None, help="Release name or full version id (default: latest).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Bundle file to write (default: standard output).")
@click.option("--format", "file_format", type=click.Choice(["bundle", "xlsx", "csv"]), default="bundle",
              show_default=True,
              help="bundle (signed JSON), xlsx (a workbook: rules table, vocabulary, settings, examples, tests) or "
                   "csv (the rules table only).")
def export_command(data_dir: Path, database_url: str | None, ruleset: str, revision: str | None,
                   out_path: Path | None, file_format: str = "bundle") -> None:
    """Write a rule set version as a bundle file, a workbook (--format xlsx) or a table (--format csv)."""
    import copy

    from server.services.errors import ServiceError

    runtime = _runtime(data_dir, database_url)
    ws = runtime.workspace
    try:
        version = ws.resolve(ws.check_id(ruleset), revision)
        pinned = copy.copy(ws.ruleset(ruleset, version))
    except ServiceError as e:
        _refuse(e)
    pinned.version, pinned.release = version, ws.release_name(ruleset, version)
    if file_format != "bundle":
        _export_table(pinned, ws.files(ruleset, version), file_format, out_path)
        return
    from rules_dsl.bundle import bundle_bytes, bundle_dict
    from server.signing import load_or_create

    data = bundle_bytes(load_or_create(runtime.config["DATA_DIR"]).sign(bundle_dict(pinned)))  # as the API serves
    if out_path:
        out_path.write_bytes(data)
        click.echo(f"Wrote {ruleset} at {pinned.release or version[:12]} to {out_path}")
    else:
        sys.stdout.buffer.write(data)


@main.command(name="import")
@workspace_options
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--as", "as_user", required=True, help="The person the new version is saved under.")
@click.option("--why", required=True, help="Why this rule set is imported (kept with the version).")
@click.option("--name", default=None,
              help="The new rule set's name (default: the folder's name, or the title). A name in use is refused.")
@click.option("--into", "into", default=None,
              help="For a rules table (.csv, as `export --format csv` writes it): the rule set it goes back into, "
                   "saved as one new version.")
@click.option("--dry-run", is_flag=True, help="With --into: show what would change, rule by rule; save nothing.")
def import_command(data_dir: Path, database_url: str | None, source: Path, as_user: str, why: str,
                   name: str | None, into: str | None = None, dry_run: bool = False) -> None:
    """Add a rule set from a bundle file, a rule-set folder or a workbook (.xlsx), as a new rule set; or put a
    rules table (.csv) back into a rule set (--into)."""
    from server.services.errors import ServiceError
    from server.services.rules import import_ruleset

    if into is not None or source.suffix.lower() == ".csv":
        _import_table_csv(data_dir, database_url, source, into, as_user, why, name, dry_run)
        return
    other_files = None
    try:
        if source.suffix.lower() == ".xlsx":
            ruleset, other_files = _load_workbook(source)
        else:
            ruleset = rules_dsl.load(source)
    except (RuleError, rules_dsl.BundleError) as e:
        _print_problems(getattr(e, "problems", [e]))
        sys.exit(1)
    tests_csv = (source / "tests.csv").read_bytes() if source.is_dir() and (source / "tests.csv").is_file() else None
    if tests_csv is not None:
        problems = _check_tests(source, ruleset)
        if any(p.is_error for p in problems):
            _print_problems(problems, folder=source)
            click.echo(f"{source}: not imported; fix tests.csv first (rulecraft test {source}).", err=True)
            sys.exit(1)
        other_files = {**(other_files or {}), "tests.csv": tests_csv}
    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        person = _saving_person(db, as_user)
        try:
            ruleset_id, saved = import_ruleset(runtime.workspace, db, person, ruleset, why, name, other_files)
        except ServiceError as e:
            _refuse(e, after=" (rulecraft import --name ...)" if e.code == "duplicate-name" else "")
    click.echo(f"Imported as rule set '{ruleset_id}', version {saved.version.id}")


@main.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", "server_url", default=None, help="The Rulecraft server that served it (its signing key, "
              "and with --token the hash recorded when the release was approved).")
@click.option("--key", "key_file", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The server's public key (PEM), if you were given it rather than asking the server.")
@click.option("--token", envvar="RULECRAFT_TOKEN", default=None, help="A token that may read releases.")
@click.option("--data-dir", envvar="RULECRAFT_DATA_DIR", default="rulecraft-data", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="On the server's machine: the data folder whose key to check with (without --server/--key).")
def verify(bundle: Path, server_url: str | None, key_file: Path | None, token: str | None, data_dir: Path) -> None:
    """Check a bundle file: its content matches its hash, the server signed it, and (with --server and --token)
    the hash is the one recorded when its release was approved. Exit code 0 only when every check passed."""
    import json

    from rules_dsl.bundle import bundle_hash, key_id, verify_signature
    from rules_dsl.client import ServerError, fetch_signing_key

    def fail(message: str) -> None:
        click.echo(f"NOT VERIFIED: {message}", err=True)
        sys.exit(1)

    data = bundle.read_bytes()
    try:
        digest = bundle_hash(data)
    except rules_dsl.BundleError as e:
        fail(str(e))
    document = json.loads(data)
    source = document.get("source") or {}
    ruleset, release = (document.get("ruleset") or {}).get("id"), source.get("release")
    click.echo(f"Bundle: rule set {ruleset}, {f'release {release}' if release else 'not a release'}, "
               f"version {source.get('version')}")
    click.echo(f"Content: matches its hash {digest}")
    try:
        if key_file is not None:
            public_key, where = key_file.read_text(), str(key_file)
        elif server_url:
            public_key, where = fetch_signing_key(server_url), f"{server_url}/api/signing-key"
        elif (data_dir / "signing-key.pem").is_file():
            from server.signing import load_or_create

            public_key, where = load_or_create(data_dir).public_pem, str(data_dir / "signing-key.pem")
        else:
            fail("no key to check the signature with: give --server URL or --key FILE.")
        signed_by = verify_signature(document, public_key)
    except rules_dsl.BundleError as e:
        fail(str(e))
    except (ServerError, OSError) as e:
        fail(f"could not get the server's key ({getattr(e, 'message', None) or getattr(e, 'reason', e)}).")
    click.echo(f"Signature: valid, by key {signed_by} (from {where})")
    if server_url and token and release and ruleset:
        recorded = _recorded_hash(server_url, token, ruleset, release)
        if recorded is None:
            click.echo(f"Recorded hash: none (release {release} was approved before hashes were recorded)")
        elif recorded != digest:
            fail(f"release {release} was approved with bundle hash {recorded}, not {digest}.")
        else:
            click.echo(f"Recorded hash: the same as recorded when release {release} was approved")
    elif release:
        click.echo("Recorded hash: not compared (give --server and --token to compare with the approval)")
    click.echo(f"VERIFIED: {bundle} (key {key_id(public_key)})")


def _recorded_hash(server_url: str, token: str, ruleset: str, release: str) -> str | None:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    address = f"{server_url.rstrip('/')}/api/rulesets/{urllib.parse.quote(ruleset, safe='')}/releases"
    request = urllib.request.Request(address, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            releases = json.loads(response.read())["releases"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        click.echo(f"NOT VERIFIED: could not read the releases of {ruleset} ({getattr(e, 'reason', e)}).", err=True)
        sys.exit(1)
    for item in releases:
        if item.get("name") == release and item.get("status") == "approved":
            return item.get("bundle_hash")
    click.echo(f"NOT VERIFIED: the server has no release {release} of {ruleset}.", err=True)
    sys.exit(1)


@main.command()
@workspace_options
def recover(data_dir: Path, database_url: str | None) -> None:
    """Repair what an interruption left behind (also done at every start) and say what was done. Refused while a
    server runs on the data folder: what it is saving at that moment is not an interruption."""
    from server.lifecycle import start

    _hold_data_folder(data_dir, "Stop it before running recover (every start of the server repairs the same "
                                "things).")
    click.echo(str(start(_runtime(data_dir, database_url))))


@main.command(name="backup")
@workspace_options
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
def backup_command(data_dir: Path, database_url: str | None, destination: Path) -> None:
    """Back up the rules, the database, data sets and keys into DESTINATION (a new folder), while the server runs."""
    from server.lifecycle import open_runtime
    from server.migrate import SchemaError
    from server.services.backup import BackupError, backup

    # Whatever the database's schema: backing up comes before 'db upgrade'.
    runtime = open_runtime(_overrides(data_dir, database_url), upgrade=False)
    try:
        outcome = backup(runtime, destination)
    except (BackupError, SchemaError) as e:
        click.echo(f"No backup made: {e.message}", err=True)
        sys.exit(1)
    finally:
        runtime.store.close()
    m = outcome.manifest
    counts = ", ".join(f"{table.replace('_', ' ')} {n}" for table, n in m["counts"].items())
    click.echo(f"Backed up to {outcome.folder}: version {(m['head'] or 'none')[:12]}, {len(m['releases'])} "
               f"release{'s' * (len(m['releases']) != 1)}; rows: {counts}; saves waited {m['paused_seconds']:.2f} s.")


@main.command(name="restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--data-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="A new or empty folder to restore into.")
@click.option("--database-url", default=None,
              help="A new, empty database to restore into (default: SQLite in the data folder).")
def restore_command(source: Path, data_dir: Path, database_url: str | None) -> None:
    """Restore a backup made by 'rulecraft backup' into a new data folder, repair and check it."""
    from server.migrate import SchemaError
    from server.services.backup import BackupError, restore

    try:
        outcome = restore(source, data_dir, database_url)
    except (BackupError, SchemaError) as e:
        click.echo(f"Not restored: {e.message}", err=True)
        sys.exit(1)
    for note in outcome.notes:
        click.echo(note)
    m = outcome.manifest
    click.echo(f"Restored into {outcome.folder}: version {(m['head'] or 'none')[:12]} and "
               f"{len(m['releases'])} release{'s' * (len(m['releases']) != 1)}, as backed up at {m['started']}; "
               "the repository and the database agree. Start the server on this folder.")


_held_folder: list[int] = []  # the descriptor of the data folder's lock, kept open while this command runs


def _hold_data_folder(data_dir: Path, advice: str) -> None:
    """One server (or recover) per data folder; exit code 1 with a plain message otherwise."""
    from server import config as configuration
    from server.lifecycle import DataFolderInUse, hold_data_folder

    try:
        _held_folder.append(hold_data_folder(configuration.data_dir(data_dir)))
    except DataFolderInUse as e:
        click.echo(f"{e} {advice}", err=True)
        sys.exit(1)


@main.group()
def db() -> None:
    """Database migrations: only 'db upgrade' changes the schema of an existing database."""


def _database_url(data_dir: Path, database_url: str | None) -> str:
    from server import config as configuration

    return configuration.build(_overrides(data_dir, database_url))["DATABASE_URL"]


def _schema(action):
    """Run ``action()``; a database that cannot be reached or a revision that does not exist is a plain message
    and exit code 1, never a traceback."""
    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    from server.migrate import SchemaError

    try:
        return action()
    except SchemaError as e:
        click.echo(e.message, err=True)
    except (CommandError, RevisionError) as e:
        click.echo(f"The database was not changed: {e}", err=True)
    sys.exit(1)


@db.command()
@workspace_options
def upgrade(data_dir: Path, database_url: str | None) -> None:
    """Bring the database schema up to date (back it up first)."""
    from server import migrate

    url = _database_url(data_dir, database_url)
    before, _ = _schema(lambda: migrate.state(url))
    _schema(lambda: migrate.upgrade(url))
    needed = migrate.head(url)
    if before == needed:
        click.echo(f"Database is at revision {needed} already; nothing to do.")
    else:
        click.echo(f"Database upgraded from revision {before or 'base'} to {needed}.")


@db.command()
@workspace_options
def current(data_dir: Path, database_url: str | None) -> None:
    """Say which schema revision the database is at, and whether it needs 'db upgrade'."""
    from server import migrate

    url = _database_url(data_dir, database_url)
    revision, _ = _schema(lambda: migrate.state(url))
    needed = migrate.head(url)
    if revision == needed:
        click.echo(f"Database is at revision {revision}: up to date.")
        return
    click.echo(f"Database is at revision {revision or 'base'}; this version of Rulecraft needs {needed}. "
               + ("Run 'rulecraft db upgrade'." if revision is None or revision in migrate.revisions(url)
                  else "That revision is unknown to this version: a newer Rulecraft has upgraded it."))
    sys.exit(1)


@db.command()
@workspace_options
@click.argument("revision")
@click.option("--yes-destroy-data", "confirmed", is_flag=True,
              help="Confirm that the tables and columns removed on the way down, and the data in them, are lost.")
def downgrade(data_dir: Path, database_url: str | None, revision: str, confirmed: bool) -> None:
    """Take the schema back to REVISION (e.g. base): this deletes data, so it needs --yes-destroy-data."""
    from server import migrate

    url = _database_url(data_dir, database_url)
    _schema(lambda: migrate.known_revision(url, revision))
    before, _ = _schema(lambda: migrate.state(url))
    if before is None:
        click.echo("The database has no Rulecraft schema to take down; nothing to do.")
        return
    if not confirmed:
        lost = ("every table: people, sign-in sessions, tokens, releases and their approvals, the audit trail and "
                "the list of data sets" if revision == "base" else "the tables and columns added after it, "
                "with their data")
        click.echo(f"Not done: taking the database down to '{revision}' deletes {lost} (the rules in the Git "
                   "repository stay). Back up the database first (docs/operations.md), then run the command again "
                   "with --yes-destroy-data.", err=True)
        sys.exit(1)
    _schema(lambda: migrate.downgrade(url, revision))
    click.echo(f"Database downgraded from revision {before} to {revision}.")


# ---- rulecraft suggest (issue 18) ---------------------------------------------------------------------------------
@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled cases as CSV.")
@click.option("--label", "label_column", required=True, help="The column holding the true outcome.")
@click.option("--for", "target", default=None, help="Only rules concluding this label (default: every label).")
@click.option("--group", "group_column", default=None, help="A column to give the figures by (e.g. sex).")
@click.option("--max", "most", default=10, show_default=True, type=click.IntRange(1, 50),
              help="How many suggestions at most.")
@click.option("--max-conditions", default=3, show_default=True, type=click.IntRange(1, 5),
              help="How many conditions a suggested rule may have.")
def suggest(path: Path, data_path: Path, label_column: str, target: str | None, group_column: str | None,
            most: int, max_conditions: int) -> None:
    """Suggest rules from labelled cases, best first, with their figures. Nothing is saved: copy the ones you
    agree with into the rule set (and change them as you see fit)."""
    import pandas as pd

    from rules_dsl.suggest import suggest_rules
    from server.services.datasets import split as split_by
    from server.services.errors import ServiceError

    ruleset = _load_or_exit(path)
    try:
        data = read_csv(data_path)
        if data.empty:
            raise DataError("The file holds no cases (only its first line, naming the columns).")
        split = split_by(data, group_column, 4) if group_column else None
        suggestions = suggest_rules(ruleset, split.frame if split else data, label_column, target=target,
                                    group=split.group_column if split else None, max_conditions=max_conditions,
                                    max_suggestions=most)
    except (DataError, KeyError, ValueError, pd.errors.ParserError) as e:
        click.echo(f"{data_path}: {getattr(e, 'message', e)}", err=True)
        sys.exit(2)
    except ServiceError as e:
        _refuse(e, before=f"{data_path}: ", status=2)
    if not suggestions:
        click.echo("No rule to suggest: no short rule does clearly better than chance on these cases, or the "
                   "existing rules already cover what the data show.")
        return
    click.echo(f"{len(suggestions)} suggestion{'s' * (len(suggestions) != 1)} from {len(data)} cases "
               f"(figures on the 70% searched; 'held out' on the other 30%). Nothing is saved.")
    if suggestions.searched < suggestions.search_cases:
        click.echo(f"The search looked at a sample of {suggestions.searched:,} of the {suggestions.search_cases:,} "
                   "cases; the figures use them all.")
    click.echo("")
    for number, s in enumerate(suggestions, 1):
        click.echo(f"{number}. {_suggestion_line(s)}")
        click.echo("\n".join("   " + line for line in s.text.splitlines()))
        if s.overlaps:
            click.echo("   overlaps: " + "; ".join(f"{o['name']} ({o['shared']} cases, {o['share']:.0%})"
                                                   for o in s.overlaps[:3]))
        if s.subgroups:
            click.echo(f"   by {group_column}: " + "; ".join(
                f"{g}: {_percent(f['precision'])} of {f['support']}" for g, f in s.subgroups.items()))
        click.echo("")


def _percent(share) -> str:
    return "-" if share is None else f"{share:.0%}"


def _suggestion_line(s) -> str:
    return (f"{s.label}: precision {_percent(s.precision)} on {s.support} cases, held out "
            f"{_percent(s.heldout_precision)} on {s.heldout_support}; coverage {_percent(s.coverage)}, catches "
            f"{_percent(s.recall)} of '{s.label}'; {s.near_misses} near misses")


# ---- rulecraft test: expected outcomes (tests.csv) -------------------------------------------------------------

@main.command(name="test")
@workspace_options
@click.argument("path")
@click.option("--version", "revision", default=None,
              help="Test a rule set of the workspace (PATH is its name) at this release name or full version id.")
def test_command(data_dir: Path, database_url: str | None, path: str, revision: str | None) -> None:
    """Run a rule set's tests.csv: each failure in plain words; exit 0 all pass, 1 any fails, 2 an error in the
    file (file:line) or in the rules. PATH is a rule-set folder, or with --version a rule set of the workspace."""
    from rules_dsl.expected import run_tests
    from rules_dsl.layout import TESTS_FILE

    folder = Path(path)
    if revision is None and folder.is_dir():
        try:
            ruleset = rules_dsl.load(folder)
        except RuleError as e:
            _print_problems(e.problems, folder=folder)
            click.echo(f"{folder}: the rules have errors; fix them (rulecraft check {folder}) before testing.",
                       err=True)
            sys.exit(2)
        data = (folder / TESTS_FILE).read_bytes() if (folder / TESTS_FILE).is_file() else None
        shown = folder / TESTS_FILE
        name = str(folder)
    else:
        ruleset, data, name = _workspace_tests(data_dir, database_url, path, revision)
        shown = Path(f"{path}/{TESTS_FILE}")
    if data is None:
        click.echo(f"{name} has no {TESTS_FILE}: add one (docs/language.md, \"Expected outcomes\") with a column "
                   "'case', the feature columns and 'expect'.", err=True)
        sys.exit(2)
    try:
        report = run_tests(data, ruleset, str(shown))
    except RuleError as e:
        _print_problems(e.problems)
        errors = len(e.errors)
        click.echo(f"{shown}: {errors} error{'s' * (errors != 1)}; no case was run.", err=True)
        sys.exit(2)
    _print_problems(report.problems)
    for failure in report.failures:
        click.echo(failure.describe(str(shown)))
    cases = len(report.results)
    click.echo(f"{name}: {cases} case{'s' * (cases != 1)}, {report.passed} passed, {report.failed} failed")
    sys.exit(1 if report.failed else 0)


def _workspace_tests(data_dir: Path, database_url: str | None, name: str, revision: str | None):
    """A rule set of the workspace at a version, and the bytes of its tests.csv (None when it has none)."""
    from rules_dsl.layout import TESTS_FILE
    from server.services.errors import ServiceError

    if not data_dir.is_dir():
        click.echo(f"'{name}' is not a rule-set folder, and there is no workspace at '{data_dir}' to find a rule "
                   "set of that name in (--data-dir).", err=True)
        sys.exit(2)
    runtime = _runtime(data_dir, database_url)
    ws = runtime.workspace
    try:
        version = ws.resolve(ws.check_id(name), revision)
        ruleset = ws.ruleset(name, version)
        data = ws.files(name, version).get(TESTS_FILE)
    except ServiceError as e:
        _refuse(e, status=2)
    return ruleset, data, f"{name} at {ws.release_name(name, version) or version[:12]}"


# ---- check: the logic checked without data (issue 19) ---------------------------------------------------------

def _print_findings(path: Path, ruleset) -> int:
    """``rulecraft check`` prints what rules_dsl.verify finds (conflicts, gaps, ...) as warnings, one per line on
    standard error: they never make the check fail, since overlaps settled by priority are often meant."""
    from rules_dsl.verify import verify

    findings = verify(ruleset)
    for finding in findings:
        click.echo(f"{path}: warning: {finding.kind}: {finding.message}", err=True)
    return len(findings)


if __name__ == "__main__":  # pragma: no cover
    main()


# ---- decision tables and workbooks (issue 19) --------------------------------------------------------------------


def _export_table(ruleset, files: dict, file_format: str, out_path: Path | None) -> None:
    """``rulecraft export --format xlsx|csv``: the workbook of a version (every file of its folder), or its rules
    table as CSV (standard output when no --out)."""
    if file_format == "xlsx":
        from rules_dsl import workbook

        if out_path is None:
            click.echo("A workbook is a file: say where to write it, e.g. --out triage.xlsx", err=True)
            sys.exit(2)
        workbook.save(ruleset, out_path, files)
        click.echo(f"Wrote {ruleset.id} at {ruleset.release or ruleset.version[:12]} to {out_path}")
        return
    from rules_dsl import decision_table

    text = decision_table.to_csv(ruleset)
    if out_path:
        out_path.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the rules table of {ruleset.id} to {out_path}")
    else:
        click.echo(text, nl=False)


def _load_workbook(path: Path):
    """A workbook as a rule set and the folder's files it carries, for ``rulecraft import``; its problems name
    sheet and cell."""
    from rules_dsl import workbook
    from rules_dsl.ruleset import ruleset_from_files

    if not path.is_file():
        raise RuleError(f"'{path}' is not a workbook file.")
    files, meta = workbook.read_files(path.read_bytes())
    return ruleset_from_files(files, id=meta["rule set"]), files


# ---- evaluate on another engine (issue 16) -------------------------------------------------------------------------

def _evaluate_on_engine(ruleset, engine: str, data_path: Path, out_path: Path, keep: tuple[str, ...],
                        predict: bool, decide: bool) -> None:
    """``rulecraft evaluate --engine polars|duckdb|spark`` (and ``--decide`` on any engine): the keep columns, one
    0/1 column per rule and with --decide the decision columns (rules_dsl/engines), written as CSV or Parquet.
    Polars and DuckDB stream the file; Spark runs in a local session and writes a folder of part files."""
    from rules_dsl.engines import DECISION_COLUMNS, FILE_ENGINES, evaluate_file

    if predict:
        click.echo("--predict works with the pandas engine alone; use --decide, which writes the answer in the "
                   f"columns {', '.join(DECISION_COLUMNS)} on every engine.", err=True)
        sys.exit(2)
    suffixes = (".csv", ".parquet")
    for what, file in (("--data", data_path), ("--out", out_path)):
        if file.suffix.lower() not in suffixes:
            click.echo(f"{file}: {what} must be a .csv or a .parquet file (the name's ending says which).", err=True)
            sys.exit(2)
    if engine == "pandas" and ".parquet" in (data_path.suffix.lower(), out_path.suffix.lower()):
        click.echo("The pandas engine reads and writes CSV; for Parquet use --engine polars or duckdb.", err=True)
        sys.exit(2)
    try:
        if engine in FILE_ENGINES:
            evaluate_file(ruleset, engine, data_path, out_path, list(keep), decide)
        elif engine == "spark":
            _evaluate_on_spark(ruleset, data_path, out_path, keep, decide)
        else:
            _evaluate_csv_with_decisions(ruleset, data_path, out_path, keep)
    except DataError as e:
        click.echo(f"{data_path}: {e.message}", err=True)
        sys.exit(2)
    except ImportError as e:
        click.echo(f"The {engine} engine is not installed ({e.name or e}). Install it with: "
                   f"pip install 'rulecraft[{engine}]'", err=True)
        sys.exit(2)
    extra = f" and the decision columns ({', '.join(DECISION_COLUMNS)})" if decide else ""
    click.echo(f"{len(ruleset.active_rules)} rules ({engine}) -> {out_path}: one 0/1 column per rule{extra}")


def _evaluate_csv_with_decisions(ruleset, data_path: Path, out_path: Path, keep: tuple[str, ...]) -> None:
    """``--decide`` on the pandas engine: chunks of the CSV file through with_decisions."""
    import pandas as pd

    from rules_dsl.engines import DECISION_COLUMNS, pandas_engine

    try:
        for i, chunk in enumerate(csv_chunks(data_path, 200_000)):
            missing = [c for c in keep if c not in chunk.columns]
            if missing:
                raise DataError(f"--keep: the data has no column '{missing[0]}'.", missing[0])
            fired = ruleset.matches(chunk)
            decided = pandas_engine.decisions(ruleset, {c: fired[c].to_numpy() for c in fired.columns}, len(chunk))
            out = pd.concat([chunk[list(keep)], fired.astype("int8")], axis=1)
            for name, values in zip(DECISION_COLUMNS, decided):
                out[name] = values
            out.to_csv(out_path, mode="w" if i == 0 else "a", header=i == 0, index=False)
    except CsvError as e:
        raise DataError(f"cannot read the CSV file: {e.message}") from None


def _evaluate_on_spark(ruleset, data_path: Path, out_path: Path, keep: tuple[str, ...], decide: bool) -> None:
    """A local Spark session (all cores); the rules as Spark column expressions through with_matches."""
    import os

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as sf

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[*]").appName("rulecraft-evaluate")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        reader = spark.read
        frame = reader.parquet(str(data_path)) if data_path.suffix.lower() == ".parquet" else \
            reader.csv(str(data_path), header=True, inferSchema=True)
        absent = [c for c in keep if c not in frame.columns]
        if absent:
            raise DataError(f"--keep: the data has no column '{absent[0]}'.", absent[0])
        frame = frame.select(*dict.fromkeys([*keep, *(c for c in ruleset.columns if c in frame.columns)]))
        out = ruleset.with_decisions(frame, prefix="") if decide else None
        fired = ruleset.with_matches(out if out is not None else frame, prefix="")
        from rules_dsl.engines import DECISION_COLUMNS

        columns = [sf.col(f"`{c}`") for c in keep]
        columns += [sf.col(f"`{r}`").cast("tinyint").alias(r) for r in ruleset.rule_ids]
        columns += [sf.col(c) for c in DECISION_COLUMNS] if decide else []
        writer = fired.select(*columns).write.mode("overwrite")
        if out_path.suffix.lower() == ".parquet":
            writer.parquet(str(out_path))
        else:
            writer.csv(str(out_path), header=True)
    finally:
        spark.stop()


# ---- rulecraft import rules.csv --into RULESET (issue 19) ----------------------------------------------------------

def _import_table_csv(data_dir: Path, database_url: str | None, source: Path, into: str | None, as_user: str,
                      why: str, name: str | None, dry_run: bool) -> None:
    """``rulecraft import rules.csv --into RULESET``: the rules table saved as one version of the rule set (rows
    are rules; a rule not in the table is deleted), each problem at its cell with its row and column."""
    from server.services import tables
    from server.services.errors import ServiceError

    if source.suffix.lower() != ".csv" or not source.is_file():
        click.echo(f"{source}: --into takes a rules table, a .csv file as `rulecraft export --format csv` writes it.",
                   err=True)
        sys.exit(2)
    if into is None:
        click.echo(f"{source}: a CSV file holds the rules table only, not the vocabulary: say which rule set it goes "
                   "back into, e.g. --into sepsis-triage (or import a workbook, .xlsx, as a new rule set).", err=True)
        sys.exit(2)
    if name is not None:
        click.echo("--name names a new rule set; a table goes into an existing one (--into).", err=True)
        sys.exit(2)
    data = source.read_bytes()
    runtime = _runtime(data_dir, database_url)
    with runtime.sessions() as db:
        person = _saving_person(db, as_user)
        try:
            saved, changes = tables.import_csv(runtime.workspace, db, person, into, data, source.name, why, dry_run)
        except ServiceError as e:
            problems = e.details.get("problems") if e.code == "invalid-table" else None
            if not problems:
                _refuse(e)
            header = _csv_header(data)
            for problem in problems:
                click.echo(f"{problem.get('file') or source.name}{_cell_words(problem.get('file'), header)}: "
                           f"{problem['message']}", err=True)
            click.echo(f"{source}: not imported; {len(problems)} problem(s) to fix.", err=True)
            sys.exit(1)
    for change in changes:
        what = f"rule '{change['rule']}'" if change.get("rule") else change["file"]
        click.echo(f"  {change['change']}: {what}")
    counts = ", ".join(f"{sum(c['change'] == k for c in changes)} {k}" for k in ("added", "changed", "deleted"))
    if saved is None:
        click.echo(f"Would change {into} ({counts}); nothing saved (--dry-run).")
    else:
        click.echo(f"Saved {into} as version {saved.version.id} ({counts})")


def _csv_header(data: bytes) -> list[str]:
    from rules_dsl import decision_table

    try:
        rows = decision_table.rows_from_csv(data)
    except RuleError:
        return []
    return rows[0] if rows else []


def _cell_words(cell: str | None, header: list[str]) -> str:
    """" (row 7, column 'priority')" for a cell such as "rules.csv!I7", as a spreadsheet shows the file."""
    import re

    m = re.fullmatch(r".*!([A-Z]+)(\d+)", cell or "")
    if not m:
        return ""
    index = 0
    for letter in m[1]:
        index = index * 26 + ord(letter) - 64
    column = f", column '{header[index - 1]}'" if 0 < index <= len(header) and header[index - 1] else ""
    return f" (row {m[2]}{column})"



# ---- rulecraft import --as NAME: who a version may be saved under (red team, round 3) ------------------------------

def _saving_person(db, name: str):
    """The person ``--as`` names, when they may save rules: someone disabled (who has left) or whose role does not
    edit rules (a reviewer, an auditor, an ML engineer) was recorded as the author of the import all the same,
    and a reviewer's name on a change would keep them from approving its release. Exits 1 otherwise."""
    from server import auth

    person = _person_or_exit(db, name)
    if not person.active:
        click.echo(f"{person.name} is disabled and cannot save rules; enable them first (rulecraft enable "
                   f"\"{person.name}\") or import as someone else (--as).", err=True)
        sys.exit(1)
    if "rules.write" not in auth.ROLE_PERMISSIONS.get(person.role, ()):
        click.echo(f"{person.name} is {'an' if person.role[0] in 'aeiou' else 'a'} {person.role}, a role that does "
                   "not edit rules; import as an author or an admin (--as).", err=True)
        sys.exit(1)
    return person
