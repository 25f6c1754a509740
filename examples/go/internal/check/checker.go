// Package check fetches links concurrently and records their status.
package check

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"
)

// Result is the outcome of checking one URL.
type Result struct {
	URL    string
	Status int
	Err    error
}

// OK reports whether the link answered with a 2xx or 3xx status.
func (r Result) OK() bool {
	return r.Err == nil && r.Status >= 200 && r.Status < 400
}

// Fetcher returns the HTTP status of a URL.
type Fetcher interface {
	Head(ctx context.Context, url string) (int, error)
}

// HTTPFetcher is a Fetcher backed by an http.Client.
type HTTPFetcher struct {
	*http.Client
	UserAgent string
}

// NewHTTPFetcher returns a fetcher whose requests time out after timeout.
func NewHTTPFetcher(timeout time.Duration) *HTTPFetcher {
	return &HTTPFetcher{Client: &http.Client{Timeout: timeout}, UserAgent: "linkcheck/1.0"}
}

// Head sends a HEAD request and returns the response status.
func (f *HTTPFetcher) Head(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", f.UserAgent)
	resp, err := f.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Option configures a Checker.
type Option func(*Checker)

// WithLimit caps the number of requests in flight.
func WithLimit(n int) Option {
	return func(c *Checker) {
		if n > 0 {
			c.limit = n
		}
	}
}

// Checker checks many URLs with a bounded number of concurrent requests.
type Checker struct {
	fetcher Fetcher
	limit   int
}

// New returns a Checker using fetcher, with at most 8 requests in flight by default.
func New(fetcher Fetcher, opts ...Option) *Checker {
	c := &Checker{fetcher: fetcher, limit: 8}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Check fetches every URL and returns the results in input order. Fetch failures
// are recorded in the results; the error is non-nil only when ctx is cancelled.
func (c *Checker) Check(ctx context.Context, urls []string) ([]Result, error) {
	results := make([]Result, len(urls))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.limit)
	for i, url := range urls {
		g.Go(func() error {
			status, err := c.fetcher.Head(ctx, url)
			results[i] = Result{URL: url, Status: status, Err: err}
			return ctx.Err()
		})
	}
	return results, g.Wait()
}
