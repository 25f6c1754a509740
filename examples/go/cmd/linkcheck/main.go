// Command linkcheck checks the links found in text files.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"example.com/linkcheck/internal/check"
	"example.com/linkcheck/internal/report"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run parses flags, checks every link of the named files and returns the exit status.
func run(args []string) int {
	fs := flag.NewFlagSet("linkcheck", flag.ContinueOnError)
	limit := fs.Int("limit", 8, "concurrent requests")
	timeout := fs.Duration("timeout", 10*time.Second, "timeout per request")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	var urls []string
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "linkcheck:", err)
			return 2
		}
		urls = append(urls, check.ExtractURLs(string(data))...)
	}

	checker := check.New(check.NewHTTPFetcher(*timeout), check.WithLimit(*limit))
	results, err := checker.Check(context.Background(), urls)
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkcheck:", err)
		return 2
	}
	summary := report.Write(os.Stdout, results)
	fmt.Println(summary)
	if summary.Broken > 0 {
		return 1
	}
	return 0
}
