#!/usr/bin/env bash
# tools/fuzz.sh BUDGET PKG...: run every Fuzz target of each package with
# -fuzztime BUDGET (a duration such as 60s, or an execution count such as 3000x).
#
# A failure that wrote a reproducer under testdata/fuzz/ is a real failure. A
# failure with no reproducer whose output is Go 1.26's coordinator shutdown race
# ("context deadline exceeded" at the -fuzztime boundary, golang/go#75804) is a
# flake: it is reported and the target is run once more.
set -uo pipefail
GO=${GO:-go}
budget=$1; shift
fail=0
for pkg in "$@"; do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for f in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    for attempt in 1 2; do
      echo "== $pkg $f (-fuzztime $budget)"
      before=$(find "$dir/testdata/fuzz/$f" -type f 2>/dev/null | sort)
      out=$($GO test -run '^$' -fuzz "^$f\$" -fuzztime "$budget" "$pkg" 2>&1); rc=$?
      echo "$out" | tail -n 20
      [ $rc -eq 0 ] && break
      after=$(find "$dir/testdata/fuzz/$f" -type f 2>/dev/null | sort)
      if [ "$before" != "$after" ]; then
        echo "FAIL: $f wrote a reproducer:"; comm -13 <(echo "$before") <(echo "$after")
        fail=1; break
      fi
      if echo "$out" | grep -q 'context deadline exceeded' && [ $attempt -eq 1 ]; then
        echo "flake: $f hit the fuzz coordinator's deadline race (golang/go#75804), no reproducer written; running it again"
        continue
      fi
      fail=1; break
    done
  done
done
exit $fail
