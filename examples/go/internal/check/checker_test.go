package check

import (
	"context"
	"errors"
	"testing"
)

type fakeFetcher map[string]int

func (f fakeFetcher) Head(_ context.Context, url string) (int, error) {
	if status, ok := f[url]; ok {
		return status, nil
	}
	return 0, errors.New("no such host")
}

func TestCheckKeepsOrderAndRecordsFailures(t *testing.T) {
	fetcher := fakeFetcher{"https://a.example/": 200, "https://b.example/": 404}
	urls := []string{"https://a.example/", "https://b.example/", "https://c.example/"}
	results, err := New(fetcher, WithLimit(2)).Check(context.Background(), urls)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false}
	for i, r := range results {
		if r.URL != urls[i] || r.OK() != want[i] {
			t.Errorf("result %d = %+v, want URL %s ok=%v", i, r, urls[i], want[i])
		}
	}
}

func TestExtractURLs(t *testing.T) {
	got := ExtractURLs("see https://go.dev/, and (https://go.dev/) or http://x.example/a.")
	if len(got) != 2 || got[0] != "https://go.dev/" || got[1] != "http://x.example/a" {
		t.Errorf("ExtractURLs = %q", got)
	}
}
