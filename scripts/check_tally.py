#!/usr/bin/env python3
"""check_tally.py: reads the XML logs Check writes (CK_XML_LOG_FILE_NAME) and
tallies distinct tests for scripts/test.sh.

  check_tally.py list LABEL FILE.xml
      prints one line per test in the log, "LABEL:suite:tcase:test RESULT"
      (RESULT is pass or fail; a failure is followed by a tab and Check's
      "file:line: message", so the summary says why); exits 1 when the log is unreadable or holds
      no test at all, so a run that checked nothing cannot pass.
  check_tally.py total RESULTS.txt
      reads the lines `list` printed, for every build the programs ran in,
      and prints "PASSED FAILED": each distinct test once, passing only when
      it passed in every run it appeared in. The failing ones go to stderr.
"""
import sys
import xml.etree.ElementTree as ElementTree

CHECK_NS = "{http://check.sourceforge.net/ns}"


def list_tests(label, path):
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        print(f"check_tally: cannot read {path}: {error}", file=sys.stderr)
        return 1
    results = {}
    reasons = {}
    for suite in root.iter(CHECK_NS + "suite"):
        suite_name = suite.findtext(CHECK_NS + "title", "").strip()
        for test in suite.iter(CHECK_NS + "test"):
            tcase = test.findtext(CHECK_NS + "description", "").strip()
            name = test.findtext(CHECK_NS + "id", "").strip()
            key = f"{label}:{suite_name}:{tcase}:{name}"
            passed = test.get("result") == "success"
            # A loop test has one entry per iteration: all must pass.
            results[key] = results.get(key, True) and passed
            if not passed and key not in reasons:
                where = test.findtext(CHECK_NS + "fn", "").strip()
                message = " ".join(test.findtext(CHECK_NS + "message", "").split())
                reasons[key] = f"{where}: {message}"[:400]
    if not results:
        print(f"check_tally: {path} holds no test (a filter matching nothing?)",
              file=sys.stderr)
        return 1
    for key, passed in results.items():
        if passed:
            print(key, "pass")
        else:
            print(f"{key} fail\t{reasons.get(key, '')}")
    return 0


def total(path):
    verdicts = {}
    reasons = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            verdict, _, reason = line.rstrip("\n").partition("\t")
            key, _, result = verdict.strip().rpartition(" ")
            if key:
                verdicts[key] = verdicts.get(key, True) and result == "pass"
                if reason:
                    reasons.setdefault(key, reason)
    failed = sorted(key for key, passed in verdicts.items() if not passed)
    for key in failed:
        print(f"failed test: {key}", file=sys.stderr)
        if key in reasons:
            print(f"  because: {reasons[key]}", file=sys.stderr)
    print(len(verdicts) - len(failed), len(failed))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "list":
        return list_tests(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "total":
        return total(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
