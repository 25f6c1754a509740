package check

import (
	"regexp"
	"strings"
)

var urlPattern = regexp.MustCompile(`https?://[^\s<>()"'\x60]+`)

// ExtractURLs returns the distinct http(s) URLs of text, in order of appearance.
func ExtractURLs(text string) []string {
	seen := make(map[string]bool)
	var urls []string
	for _, match := range urlPattern.FindAllString(text, -1) {
		url := strings.TrimRight(match, ".,;:!?")
		if !seen[url] {
			seen[url] = true
			urls = append(urls, url)
		}
	}
	return urls
}
