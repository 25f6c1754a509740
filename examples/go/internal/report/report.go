// Package report prints check results.
package report

import (
	"fmt"
	"io"

	"example.com/linkcheck/internal/check"
)

// Summary counts working and broken links.
type Summary struct {
	OK     int
	Broken int
}

// String renders the summary line, e.g. "3 links: 2 ok, 1 broken".
func (s Summary) String() string {
	return fmt.Sprintf("%d links: %d ok, %d broken", s.OK+s.Broken, s.OK, s.Broken)
}

// Write prints one line per result to w and returns the totals.
func Write(w io.Writer, results []check.Result) Summary {
	var s Summary
	for _, r := range results {
		if r.OK() {
			s.OK++
			fmt.Fprintf(w, "%-4d %s\n", r.Status, r.URL)
			continue
		}
		s.Broken++
		fmt.Fprintf(w, "%-4s %s  (%s)\n", describe(r), r.URL, errorText(r))
	}
	return s
}

func describe(r check.Result) string {
	if r.Err != nil {
		return "ERR"
	}
	return fmt.Sprint(r.Status)
}

func errorText(r check.Result) string {
	if r.Err != nil {
		return r.Err.Error()
	}
	return "unexpected status"
}
