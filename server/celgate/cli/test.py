"""`celgate test PATH`: run the repository's test suites, with rule coverage and JUnit output."""

from __future__ import annotations

import argparse
from xml.etree import ElementTree as ET

from celgate.cli.output import bold, compile_or_report, green, red, yellow
from celgate.engine import Engine
from celgate.engine.testing import SuiteReport, run_suites


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "test",
        help="run the policy repository's test suites",
        description="Run every test suite of the repository: each *.yaml in any directory named tests/ (tests/, "
        "owasp/tests/, ...). Exits 1 on any failure, or when there is no case at all (or, with --coverage "
        "--strict, on any rule no case matched).",
    )
    p.add_argument("path", help="the policy repository (the directory holding celgate.yaml)")
    p.add_argument("--coverage", action="store_true", help="list the rules no test case matched")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail on a rule that errored where no case expected it, and (with --coverage) on uncovered rules",
    )
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report to FILE")
    p.add_argument(
        "--backend",
        choices=["cpp", "closures", "python"],
        help="CEL backend (default: closures)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print every case, not only failures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bundle = compile_or_report(args.path, args.backend)
    if bundle is None:
        return 1
    report = run_suites(Engine(bundle))
    for result in report.results:
        if result.failure is not None:
            print(red("FAIL ") + str(result.failure))
        elif args.verbose:
            print(green("ok   ") + f"{result.suite.name} > {result.case.name}")
    if args.junit:
        _write_junit(report, args.junit)
    total = len(report.results)
    failed = len(report.failures)
    summary = f"{report.passed} passed, {failed} failed"
    print(red(summary) if failed else green(summary))
    status = 1 if failed or not total else 0
    if not total:
        print(yellow("no test cases found: suites are *.yaml files (kind: TestSuite) in any tests/ directory"))
    if args.coverage:
        uncovered = report.uncovered()
        covered = len(report.rules) - len(uncovered)
        print(bold(f"rule coverage: {covered}/{len(report.rules)}"))
        for rule in uncovered:
            print(yellow(f"  not matched by any case: {rule}"))
        for rule in report.never_unmatched():
            print(yellow(f"  matched by every case that ran it (no negative case): {rule}"))
    for error in report.errors:
        print(yellow(f"  unexpected run-time error: {error}"))
    if args.strict and (report.errors or (args.coverage and (report.uncovered() or report.never_unmatched()))):
        status = 1
    return status


def _write_junit(report: SuiteReport, path: str) -> None:
    root = ET.Element("testsuites", tests=str(len(report.results)), failures=str(len(report.failures)))
    by_suite: dict[str, ET.Element] = {}
    for result in report.results:
        suite = by_suite.get(result.suite.name)
        if suite is None:
            suite = ET.SubElement(root, "testsuite", name=result.suite.name, file=result.suite.file)
            by_suite[result.suite.name] = suite
        case = ET.SubElement(
            suite, "testcase", name=result.case.name, classname=result.suite.name, time=f"{result.seconds:.6f}"
        )
        if result.failure is not None:
            failure = ET.SubElement(case, "failure", message=result.failure.problems[0])
            failure.text = "\n".join(result.failure.problems)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
